using System.Numerics.Tensors;

namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Applies a span kernel to a fresh output of the same shape.</summary>
    internal static Tensor Map(Tensor x, SpanMap kernel)
    {
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        kernel(x.Storage, y.Storage);
        return y;
    }

    internal delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Element-wise -x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Negate);
        return Record(y, "neg", [x], g => [Neg(g)]);
    }
}
