namespace Nabla.Onnx.Import;

/// <summary>
/// A value flowing through an imported graph: a float32 <see cref="Tensor"/> (differentiable, the
/// activations and weights) or an int64 array (shapes, axes, indices: the shape arithmetic that
/// PyTorch's exporter writes as <c>Shape → Gather → Concat → Reshape</c>).
/// </summary>
internal sealed class OnnxValue
{
    OnnxValue(Tensor? f, long[]? ints, int[] shape) => (Float, Ints, Shape) = (f, ints, shape);

    public Tensor? Float { get; }

    public long[]? Ints { get; }

    public int[] Shape { get; }

    public bool IsFloat => Float is not null;

    public int Rank => Shape.Length;

    public static OnnxValue Of(Tensor t) => new(t, null, t.Shape.ToArray());

    public static OnnxValue Of(long[] values, int[] shape) => new(null, values, shape);

    public static OnnxValue Scalar(long value) => new(null, [value], []);

    /// <summary>The float tensor; an int64 value is converted (exactly for |v| &lt; 2^24).</summary>
    public Tensor AsTensor() => Float ?? Tensor.FromArray([.. Ints!.Select(v => (float)v)], Shape);

    /// <summary>The values as int64s; a float value is truncated toward zero.</summary>
    public long[] AsInts() => Ints ?? [.. Float!.ToArray().Select(v => (long)v)];

    /// <summary>The same data in another shape (row-major, no copy for floats).</summary>
    public OnnxValue Reshape(int[] shape) => Float is { } f ? Of(f.Reshape(shape)) : Of(Ints!, shape);
}
