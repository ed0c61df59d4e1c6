namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Back-propagates from this tensor: every leaf that requires a gradient and contributed to it
    /// gets d(this)/d(leaf) added to its <see cref="Grad"/>. Without <paramref name="gradient"/> the
    /// tensor must hold one element (a loss); with it, the result is the gradient of
    /// <c>sum(this * gradient)</c>. The graph's saved tensors are released unless
    /// <paramref name="retainGraph"/> is set.
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) =>
        Autograd.Backward(this, gradient, retainGraph);

    /// <summary>True when an operation on these inputs must be recorded for backward.</summary>
    internal static bool Recording(Tensor[] inputs)
    {
        if (!Autograd.IsEnabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Attaches a backward rule to <paramref name="output"/> when recording; returns it.</summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, BackwardRule rule)
    {
        if (!Recording(inputs)) return output;
        output.GradFn = new Node(op, inputs, rule);
        output._requiresGrad = true;
        return output;
    }

    /// <summary>Adds <paramref name="other"/> (same shape) into this tensor's storage, bypassing autograd.</summary>
    internal void AddInPlace(Tensor other)
    {
        if (!SameShape(other))
            throw new ShapeException("AddInPlace", $"a tensor of shape {ShapeString}", other.ShapeString);
        System.Numerics.Tensors.TensorPrimitives.Add(Storage, other.Storage, Storage);
    }

    /// <summary>
    /// Sums a broadcast gradient back to the shape of the input it belongs to: over the leading
    /// dimensions broadcasting added and over the dimensions where the input had size 1.
    /// </summary>
    internal static Tensor SumTo(Tensor g, int[] dims)
    {
        if (g.Dims.AsSpan().SequenceEqual(dims)) return g;
        int lead = g.Rank - dims.Length;
        var reduce = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (dims[i - lead] == 1 && g.Dims[i] != 1)) reduce.Add(i);
        var s = reduce.Count == 0 ? g : SumDims(g, [.. reduce], keepDim: true);
        return s.Reshape(dims);
    }
}
