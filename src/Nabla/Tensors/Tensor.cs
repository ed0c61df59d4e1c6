using System.Runtime.CompilerServices;

namespace Nabla;

/// <summary>
/// An n-dimensional array of float32 values in row-major (C) order, the unit every Nabla operation
/// consumes and produces. A tensor that <see cref="RequiresGrad"/> records the operations applied to
/// it, so <see cref="Backward(Tensor?, bool)"/> can compute gradients by reverse-mode differentiation.
/// </summary>
/// <remarks>
/// Storage is always contiguous. <see cref="Reshape"/> and its relatives share storage with their
/// source when no copy is needed, like PyTorch views of contiguous tensors; every other operation
/// returns a new tensor. Users never dispose tensors.
/// </remarks>
public sealed partial class Tensor
{
    float[] _storage;

    /// <summary>
    /// The elements, exactly <see cref="Numel"/> of them, contiguous. Every kernel reads a tensor
    /// through this, so a tensor recycled by its <see cref="TensorScope"/> fails here with an error
    /// that says why, instead of being read as garbage.
    /// </summary>
    internal float[] Storage
    {
        get
        {
            var s = _storage;
            if (ReferenceEquals(s, Released)) ThrowReleased();
            return s;
        }
    }

    /// <summary>Marks this tensor's memory as returned to the pool.</summary>
    internal void MarkReleased() => _storage = Released;
    internal readonly int[] Dims;
    bool _requiresGrad;

    /// <summary>The storage of a tensor whose memory went back to the pool when its <see cref="TensorScope"/> ended (its own instance, never the shared empty array).</summary>
#pragma warning disable CA1825 // a distinct instance on purpose: Array.Empty is what empty tensors hold
    internal static readonly float[] Released = new float[0];
#pragma warning restore CA1825

    /// <summary>Whether this tensor's memory was recycled by its scope.</summary>
    internal bool IsReleased => ReferenceEquals(_storage, Released);

    /// <summary>Throws if this tensor's memory was recycled by its scope.</summary>
    internal void CheckAlive()
    {
        if (IsReleased) ThrowReleased();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    void ThrowReleased() => throw new InvalidOperationException(
        $"Tensor of shape {ShapeString}: its memory went back to the pool when the TensorScope that created it ended\n" +
        "hint: read values inside the scope (Item(), ToArray()) or keep a copy made there with Clone()");

    /// <summary>The node that produced this tensor in the autograd graph; null for leaves.</summary>
    internal Node? GradFn;

    /// <summary>A tensor over existing storage (a view, or adopted data).</summary>
    internal Tensor(float[] storage, int[] dims) : this(storage, dims, track: true) { }

    /// <summary>
    /// A new tensor for an operation's result. Inside a <see cref="TensorScope"/> its storage comes
    /// from the scope's pool and goes back when the scope ends.
    /// </summary>
    internal Tensor(int[] dims, bool clear = true)
    {
        long n = CheckedNumel(dims, "Tensor");
        Dims = dims;
        _storage = TensorScope.Current is { } scope && n > 0 ? scope.Rent((int)n, clear, this) : Allocate(n, clear);
    }

    /// <summary>A tensor whose storage is never pooled: what the public creation functions return.</summary>
    internal static Tensor Owned(int[] dims, bool clear = true)
    {
        long n = CheckedNumel(dims, "Tensor");
        return new Tensor(Allocate(n, clear), dims, track: false);
    }

    Tensor(float[] storage, int[] dims, bool track)
    {
        _storage = storage;
        Dims = dims;
        if (track) TensorScope.Current?.TrackView(this, storage);
    }

    static float[] Allocate(long n, bool clear) =>
        n == 0 ? [] : clear ? new float[n] : GC.AllocateUninitializedArray<float>((int)n);

    /// <summary>The sizes of the dimensions.</summary>
    public ReadOnlySpan<int> Shape => Dims;

    /// <summary>The number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>The number of elements.</summary>
    public int Numel => Storage.Length;

    /// <summary>The size of one dimension; negative indices count from the end.</summary>
    public int Size(int dim) => Dims[NormalizeDim(dim, Rank, "Size", Dims)];

    /// <summary>The elements in row-major order, read-only; no copy.</summary>
    public ReadOnlySpan<float> Data
    {
        get
        {
            CheckAlive();
            return Storage;
        }
    }

    /// <summary>The elements in row-major order, writable. Writing bypasses autograd.</summary>
    internal Span<float> Span => Storage;

    /// <summary>Whether gradients flow to this tensor. Only leaves may have it set by the user.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn is not null && !value)
                throw new InvalidOperationException(
                    "RequiresGrad: expected a leaf tensor; got the result of an operation\nhint: use Detach() to get a tensor that needs no gradient");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor, for chaining at creation.</summary>
    public Tensor RequireGrad(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward(Tensor?, bool)"/>; null before.</summary>
    public Tensor? Grad
    {
        get
        {
            if (_gradIsStale)
            {
                _grad!.Span.Clear();
                _gradIsStale = false;
            }
            return _grad;
        }
        set
        {
            _grad = value;
            _gradIsStale = false;
        }
    }

    Tensor? _grad;

    // Set by ZeroGradLazily: the gradient buffer holds old values that count as zeros. The next
    // backward pass copies into it instead of adding, which saves a whole pass over every gradient
    // per training step; reading Grad before that clears it.
    bool _gradIsStale;

    /// <summary>Zeroes the gradient, keeping its buffer, without touching its memory until it is next used.</summary>
    internal void ZeroGradLazily()
    {
        if (_grad is not null) _gradIsStale = true;
    }

    /// <summary>Adds <paramref name="g"/> (this tensor's shape) to the gradient: a copy when it is new or zeroed.</summary>
    internal void AccumulateGrad(Tensor g)
    {
        if (_grad is null)
        {
            // A copy: the same tensor may be handed to several inputs (an add passes its output
            // gradient to both), and later accumulation is in place.
            _grad = g.Clone();
        }
        else if (_gradIsStale)
        {
            if (!_grad.SameShape(g))
                throw new ShapeException("AccumulateGrad", $"a gradient of shape {_grad.ShapeString}", g.ShapeString);
            g.Storage.AsSpan().CopyTo(_grad.Storage);
            _gradIsStale = false;
        }
        else _grad.AddInPlace(g);
    }

    /// <summary>True for a tensor created by the user rather than by an operation on tensors needing gradients.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>The name of the operation that produced this tensor, or null for a leaf.</summary>
    public string? GradFnName => GradFn?.Op;

    /// <summary>A tensor sharing this one's storage but cut out of the autograd graph.</summary>
    public Tensor Detach() => new(Storage, Dims);

    /// <summary>A copy with its own storage, not connected to the graph.</summary>
    public Tensor Clone() => new((float[])Storage.Clone(), (int[])Dims.Clone());

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        CheckAlive();
        if (Numel != 1)
            throw new ShapeException("Item", "a tensor with one element", $"shape {ShapeString} with {Numel} elements");
        return Storage[0];
    }

    /// <summary>A copy of the elements in row-major order.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>The shape written as <c>[2, 3]</c>.</summary>
    public string ShapeString => ShapeException.Str(Dims);

    // ---- creation -------------------------------------------------------------------------

    /// <summary>A tensor of the given shape filled with zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Owned(CheckShape(shape, "Zeros"));

    /// <summary>A tensor of the given shape filled with ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1f);

    /// <summary>A tensor of the given shape filled with one value.</summary>
    public static Tensor Full(int[] shape, float value)
    {
        var t = Owned(CheckShape(shape, "Full"), clear: false);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A zero-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(float value) => new([value], []);

    /// <summary>A tensor of zeros with the shape of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Owned((int[])like.Dims.Clone());

    /// <summary>A tensor of ones with the shape of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(like.Dims, 1f);

    /// <summary>The values start, start + step, ... up to but excluding end, as <c>torch.arange</c>.</summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || !float.IsFinite(step))
            throw new ArgumentException($"Arange: expected a finite non-zero step; got {step}", nameof(step));
        if (!float.IsFinite(start) || !float.IsFinite(end))
            throw new ArgumentException($"Arange: expected finite bounds; got start = {start}, end = {end}");
        double count = Math.Ceiling(((double)end - start) / step);
        if (count > int.MaxValue)
            throw new ArgumentException($"Arange: expected at most {int.MaxValue} elements; got {count}");
        int n = Math.Max(0, (int)count);
        var t = Owned([n], clear: false);
        var s = t.Span;
        for (int i = 0; i < n; i++) s[i] = (float)(start + (double)i * step);
        return t;
    }

    /// <summary>The integers 0, 1, ..., end - 1.</summary>
    public static Tensor Arange(int end) => Arange(0, end, 1);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (default: one dimension).</summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        int[] dims = shape.Length == 0 ? [data.Length] : CheckShape(shape, "FromArray");
        long n = CheckedNumel(dims, "FromArray");
        if (n != data.Length)
            throw new ShapeException("FromArray", $"{n} values for shape {ShapeException.Str(dims)}", $"{data.Length} values");
        return new Tensor((float[])data.Clone(), dims);
    }

    /// <summary>A matrix from a rectangular two-dimensional array.</summary>
    public static Tensor FromArray(float[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int r = data.GetLength(0), c = data.GetLength(1);
        var t = Owned([r, c], clear: false);
        var s = t.Span;
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) s[i * c + j] = data[i, j];
        return t;
    }

    /// <summary>Uniform values in [0, 1), as <c>torch.rand</c>.</summary>
    public static Tensor Rand(int[] shape, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        var t = Owned(CheckShape(shape, "Rand"), clear: false);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = g.NextSingle();
        return t;
    }

    /// <summary>Uniform values in [0, 1) with the default generator.</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, null);

    /// <summary>Standard normal values, as <c>torch.randn</c>.</summary>
    public static Tensor Randn(int[] shape, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        var t = Owned(CheckShape(shape, "Randn"), clear: false);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)g.NextNormal();
        return t;
    }

    /// <summary>Standard normal values with the default generator.</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, null);

    /// <summary>A random permutation of 0 .. n - 1 (Fisher-Yates), stored as floats, as <c>torch.randperm</c>.</summary>
    public static Tensor Randperm(int n, Generator? generator = null)
    {
        if (n < 0 || n > (1 << 24))
            throw new ArgumentException($"Randperm: expected 0 <= n <= 2^24 (exact in float32); got {n}", nameof(n));
        var g = generator ?? Generator.Default;
        var t = Owned([n], clear: false);
        var s = t.Span;
        for (int i = 0; i < n; i++) s[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)g.NextInt64(0, i + 1);
            (s[i], s[j]) = (s[j], s[i]);
        }
        return t;
    }

    /// <summary>Integers drawn uniformly from [low, high), stored as floats, as <c>torch.randint</c>.</summary>
    public static Tensor Randint(int low, int high, int[] shape, Generator? generator = null)
    {
        if (high <= low)
            throw new ArgumentException($"Randint: expected low < high; got low = {low}, high = {high}");
        if (high - (long)low > (1 << 24))
            throw new ArgumentException($"Randint: expected a range of at most 2^24 (exact in float32); got {high - (long)low}");
        var g = generator ?? Generator.Default;
        var t = Owned(CheckShape(shape, "Randint"), clear: false);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = g.NextInt64(low, high);
        return t;
    }

    // ---- shape helpers ----------------------------------------------------------------------

    internal static int NumelOf(ReadOnlySpan<int> dims)
    {
        int n = 1;
        foreach (int d in dims) n *= d;
        return n;
    }

    internal static long CheckedNumel(ReadOnlySpan<int> dims, string op)
    {
        long n = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ShapeException(op, "non-negative sizes", $"shape {ShapeException.Str(dims)}");
            n *= d;
            if (n > Array.MaxLength)
                throw new ShapeException(op, $"at most {Array.MaxLength} elements", $"shape {ShapeException.Str(dims)}");
        }
        return n;
    }

    static int[] CheckShape(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckedNumel(shape, op);
        return (int[])shape.Clone();
    }

    internal static int NormalizeDim(int dim, int rank, string op, int[]? shape = null)
    {
        int r = Math.Max(rank, 1); // a scalar accepts dim 0 and -1, as PyTorch does
        if (dim < -r || dim >= r)
            throw new ShapeException(op, $"a dimension in [{-r}, {r - 1}]",
                shape is null ? $"dim = {dim}" : $"dim = {dim} for input {ShapeException.Str(shape)}");
        return dim < 0 ? dim + r : dim;
    }

    internal bool SameShape(Tensor other) => Dims.AsSpan().SequenceEqual(other.Dims);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int[] ContiguousStrides(ReadOnlySpan<int> dims)
    {
        var st = new int[dims.Length];
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--) { st[i] = s; s *= dims[i]; }
        return st;
    }
}
