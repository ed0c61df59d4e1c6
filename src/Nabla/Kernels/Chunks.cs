using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>
/// How the parallel kernels split work and merge per-chunk results. A chunk's range depends only on
/// the count and the number of chunks, and partial sums are added in chunk order, so results are
/// bitwise the same whatever thread runs which chunk.
/// </summary>
internal static class Chunks
{
    /// <summary>The items [start, end) of chunk <paramref name="chunk"/> of <paramref name="chunks"/> over <paramref name="count"/> items.</summary>
    public static (int Start, int End) Range(int count, int chunk, int chunks) =>
        ((int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks));

    /// <summary>
    /// dst = Σ over chunks, in chunk order, of the <paramref name="length"/> floats at
    /// chunk * <paramref name="stride"/> + <paramref name="offset"/> of <paramref name="partials"/>:
    /// the deterministic merge of per-chunk partial sums (weight and bias gradients).
    /// </summary>
    public static void SumInOrder(ReadOnlySpan<float> partials, long stride, long offset, int length, int chunks, Span<float> dst)
    {
        partials.Slice((int)offset, length).CopyTo(dst);
        for (int c = 1; c < chunks; c++) TensorPrimitives.Add(dst, partials.Slice((int)(c * stride + offset), length), dst);
    }
}
