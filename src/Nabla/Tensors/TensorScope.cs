namespace Nabla;

/// <summary>
/// Reuses the memory of the tensors a training step creates. Inside
/// <c>using (TensorScope.Begin()) { forward; loss; backward; step; }</c> every result of an
/// operation takes its storage from a pool, and when the scope ends that storage goes back to the
/// pool for the next step. A steady-state step then allocates no large arrays at all, so the
/// garbage collector stays out of the profile (large short-lived arrays would otherwise land on
/// the large-object heap and trigger full collections).
/// </summary>
/// <remarks>
/// <para>
/// What survives a scope: everything not computed by an operation inside it — parameters, their
/// gradients (accumulated in place), optimizer state, batch-norm running statistics, tensors made
/// by the public creation functions (<see cref="Tensor.Zeros(int[])"/>, <see cref="Tensor.Clone"/>,
/// ...) — and plain values read out inside it (<c>loss.Item()</c>). What does not: the results of
/// operations inside the scope. Reading one after the scope has ended throws an
/// <see cref="InvalidOperationException"/> that says so; copy it out first with
/// <see cref="Tensor.Clone"/>.
/// </para>
/// <para>
/// Scopes are per thread and nest; without a scope, tensors are ordinary garbage-collected
/// objects (Nabla's default, as in PyTorch). The pool keeps arrays by exact length, which is what
/// the repeated shapes of a training loop reuse; <see cref="Trim"/> gives them back to the GC.
/// </para>
/// </remarks>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? t_current;

    static readonly Dictionary<int, Stack<float[]>> s_pool = [];
    static readonly object s_lock = new();

    readonly TensorScope? _outer;
    readonly List<Tensor> _tensors = [];
    readonly HashSet<float[]> _arrays = new(ReferenceEqualityComparer.Instance);
    bool _disposed;

    TensorScope(TensorScope? outer) => _outer = outer;

    /// <summary>The innermost open scope of this thread, or null.</summary>
    internal static TensorScope? Current => t_current;

    /// <summary>Opens a scope on this thread; dispose it to recycle what it allocated.</summary>
    public static TensorScope Begin() => t_current = new TensorScope(t_current);

    /// <summary>An array of <paramref name="n"/> floats for <paramref name="owner"/>, from the pool when one is free.</summary>
    internal float[] Rent(int n, bool clear, Tensor owner)
    {
        float[]? a = null;
        lock (s_lock)
            if (s_pool.TryGetValue(n, out var stack) && stack.Count > 0) a = stack.Pop();
        if (a is null) a = clear ? new float[n] : GC.AllocateUninitializedArray<float>(n);
        else if (clear) Array.Clear(a);
        _arrays.Add(a);
        _tensors.Add(owner);
        return a;
    }

    /// <summary>Records a tensor made over existing storage, so it is invalidated too if that storage is the scope's.</summary>
    internal void TrackView(Tensor view, float[] storage)
    {
        // The storage may belong to an enclosing scope: the view must die with that one.
        for (var scope = this; scope is not null; scope = scope._outer)
            if (scope._arrays.Contains(storage))
            {
                scope._tensors.Add(view);
                return;
            }
    }

    /// <summary>Ends the scope: its tensors are invalidated and their storage returns to the pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (t_current != this)
            throw new InvalidOperationException("TensorScope: expected scopes to end in the reverse order they began, on the thread that began them");
        t_current = _outer;
        foreach (var t in _tensors) t.MarkReleased();
        lock (s_lock)
            foreach (var a in _arrays)
            {
                if (!s_pool.TryGetValue(a.Length, out var stack)) s_pool[a.Length] = stack = new Stack<float[]>();
                stack.Push(a);
            }
        _tensors.Clear();
        _arrays.Clear();
    }

    /// <summary>Drops every pooled array, returning the memory to the garbage collector.</summary>
    public static void Trim()
    {
        lock (s_lock) s_pool.Clear();
    }
}
