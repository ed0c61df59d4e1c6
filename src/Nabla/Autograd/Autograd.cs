namespace Nabla;

/// <summary>
/// Reverse-mode automatic differentiation: the switch that turns recording off, and the functional
/// form <see cref="Grad"/> that returns gradients without touching <see cref="Tensor.Grad"/>.
/// </summary>
/// <remarks>
/// Operations record a node when gradient mode is on and an input requires a gradient. A backward
/// pass visits nodes in reverse topological order, so a tensor used twice receives the sum of both
/// uses (gradients accumulate, as in micrograd's <c>+=</c>). Unless asked to retain it, the pass
/// releases each node's saved tensors; a second pass through the same graph is then an error.
/// </remarks>
public static class Autograd
{
    [ThreadStatic] static int t_noGradDepth;

    /// <summary>Whether operations on this thread are being recorded.</summary>
    public static bool IsEnabled => t_noGradDepth == 0;

    /// <summary>
    /// Turns recording off until the returned scope is disposed, as <c>torch.no_grad()</c>:
    /// <c>using (Autograd.NoGrad()) { ... }</c>.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>The scope returned by <see cref="NoGrad"/>; disposing it restores recording.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Ends the scope.</summary>
        public void Dispose() => t_noGradDepth--;
    }

    /// <summary>
    /// The gradients of the outputs with respect to the inputs, as <c>torch.autograd.grad</c>; leaves'
    /// <see cref="Tensor.Grad"/> is left alone. Inputs may be leaves or intermediate results.
    /// </summary>
    /// <param name="outputs">The tensors to differentiate.</param>
    /// <param name="inputs">The tensors to differentiate with respect to.</param>
    /// <param name="gradOutputs">The gradient seeding each output; null means ones for scalar outputs.</param>
    /// <param name="retainGraph">Keep the graph for another backward pass.</param>
    /// <param name="allowUnused">Return zeros for an input the outputs do not depend on, instead of throwing.</param>
    public static Tensor[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null,
        bool retainGraph = false, bool allowUnused = false)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
            if (!inputs[i].RequiresGrad)
                throw new InvalidOperationException(
                    $"Autograd.Grad: expected every input to require a gradient; got input {i} with RequiresGrad = false");
        var capture = new Dictionary<Tensor, Tensor?>(ReferenceEqualityComparer.Instance);
        foreach (var t in inputs) capture[t] = null;
        var nodeGrads = Run(outputs, gradOutputs, retainGraph, capture);
        var result = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            Tensor? g = t.GradFn is { } n ? nodeGrads.GetValueOrDefault(n) : capture[t];
            if (g is null)
            {
                if (!allowUnused)
                    throw new InvalidOperationException(
                        $"Autograd.Grad: input {i} was not used to compute the outputs\nhint: pass allowUnused: true to get zeros for it");
                g = Tensor.ZerosLike(t);
            }
            result[i] = g;
        }
        return result;
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph) =>
        Run([root], gradient is null ? null : [gradient], retainGraph, null);

    /// <summary>
    /// The engine. Seeds each output, walks the graph in reverse topological order and either
    /// accumulates into leaves' <see cref="Tensor.Grad"/> or, given <paramref name="capture"/>, into it.
    /// Returns the gradient that reached each node's output.
    /// </summary>
    static Dictionary<Node, Tensor> Run(Tensor[] outputs, Tensor[]? gradOutputs, bool retainGraph,
        Dictionary<Tensor, Tensor?>? capture)
    {
        if (gradOutputs is not null && gradOutputs.Length != outputs.Length)
            throw new ArgumentException(
                $"Backward: expected one gradient per output ({outputs.Length}); got {gradOutputs.Length}", nameof(gradOutputs));
        using var _ = NoGrad();
        var grads = new Dictionary<Node, Tensor>();
        var roots = new List<Node>();
        for (int i = 0; i < outputs.Length; i++)
        {
            var y = outputs[i];
            y.CheckAlive();
            if (!y.RequiresGrad)
                throw new InvalidOperationException(
                    $"Backward: expected output {i} to require a gradient; got a tensor of shape {y.ShapeString} that does not " +
                    "(none of the tensors it was computed from has RequiresGrad = true, or it was computed under NoGrad)");
            Tensor seed;
            if (gradOutputs?[i] is { } g)
            {
                if (!g.SameShape(y))
                    throw new ShapeException("Backward", $"a gradient of the output's shape {y.ShapeString}", $"{g.ShapeString}");
                seed = g;
            }
            else if (y.Numel == 1) seed = Tensor.OnesLike(y);
            else
                throw new ShapeException("Backward", "a scalar output or an explicit gradient",
                    $"an output of shape {y.ShapeString}", "sum or average the output first, or pass Backward(gradient)");
            if (y.GradFn is { } node)
            {
                if (node.Rule is null) throw Released(node);
                Accumulate(grads, node, seed);
                roots.Add(node);
            }
            else AccumulateLeaf(y, seed, capture);
        }

        foreach (var node in TopologicalOrder(roots))
        {
            if (!grads.TryGetValue(node, out var gOut)) continue;
            var rule = node.Rule ?? throw Released(node);
            long t0 = OpProfiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            var gIn = rule(gOut);
            if (t0 != 0) OpProfiler.Add("backward." + node.Op, t0);
            if (!retainGraph) node.Release();
            for (int i = 0; i < node.Edges.Length; i++)
            {
                var e = node.Edges[i];
                if (!e.Active || gIn[i] is not { } gi) continue;
                gi = Tensor.SumTo(gi, e.Dims);
                long t1 = OpProfiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                if (e.Producer is { } p) Accumulate(grads, p, gi);
                else AccumulateLeaf(e.Leaf!, gi, capture);
                if (t1 != 0) OpProfiler.Add("backward.accumulate", t1);
            }
        }
        return grads;
    }

    static InvalidOperationException Released(Node node) => new(
        $"Backward: expected a graph that has not been released; got one whose '{node.Op}' node was already used by a backward pass\n" +
        "hint: pass retainGraph: true to the first Backward if you need to go through the graph twice");

    static void Accumulate(Dictionary<Node, Tensor> grads, Node node, Tensor g) =>
        grads[node] = grads.TryGetValue(node, out var prev) ? Tensor.Add(prev, g) : g;

    static void AccumulateLeaf(Tensor leaf, Tensor g, Dictionary<Tensor, Tensor?>? capture)
    {
        if (capture is not null)
        {
            if (capture.TryGetValue(leaf, out var prev)) capture[leaf] = prev is null ? g : Tensor.Add(prev, g);
            return;
        }
        leaf.AccumulateGrad(g);
    }

    /// <summary>Nodes ordered so that each comes before every node that produced one of its inputs.</summary>
    static List<Node> TopologicalOrder(List<Node> roots)
    {
        var order = new List<Node>();
        var visited = new HashSet<Node>();
        var stack = new Stack<(Node Node, int Next)>();
        foreach (var r in roots)
        {
            if (!visited.Add(r)) continue;
            stack.Push((r, 0));
            while (stack.Count > 0)
            {
                var (n, next) = stack.Pop();
                if (next < n.Edges.Length)
                {
                    stack.Push((n, next + 1));
                    if (n.Edges[next].Producer is { } p && visited.Add(p)) stack.Push((p, 0));
                }
                else order.Add(n); // post-order: producers first
            }
        }
        order.Reverse();
        return order;
    }
}
