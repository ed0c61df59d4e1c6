namespace Nabla;

/// <summary>
/// Computes the gradients of an operation's inputs from the gradient of its output. It returns one
/// entry per input, null where the input needs no gradient. A returned gradient may have the
/// output's (broadcast) shape: the engine sums it back to the input's shape once, centrally.
/// </summary>
internal delegate Tensor?[] BackwardRule(Tensor gradOutput);

/// <summary>
/// Where an input's gradient goes: the node that produced it, or the leaf that accumulates it, or
/// nowhere (an input that needs no gradient). Edges hold leaves but never intermediate tensors, so a
/// released graph keeps no activations alive.
/// </summary>
internal readonly struct Edge(Node? producer, Tensor? leaf, int[] dims)
{
    public Node? Producer { get; } = producer;
    public Tensor? Leaf { get; } = leaf;
    public int[] Dims { get; } = dims;
    public bool Active => Producer is not null || Leaf is not null;
}

/// <summary>One recorded operation: where its inputs' gradients go, and the rule that computes them.</summary>
internal sealed class Node
{
    public string Op { get; }
    public Edge[] Edges { get; }

    /// <summary>The backward rule; null once a backward pass has released the graph.</summary>
    public BackwardRule? Rule { get; private set; }

    public Node(string op, Tensor[] inputs, BackwardRule rule)
    {
        Op = op;
        Rule = rule;
        Edges = new Edge[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            Edges[i] = !t.RequiresGrad ? new Edge(null, null, t.Dims)
                : t.GradFn is { } p ? new Edge(p, null, t.Dims)
                : new Edge(null, t, t.Dims);
        }
    }

    /// <summary>Drops the rule and with it every tensor it saved.</summary>
    public void Release() => Rule = null;
}
