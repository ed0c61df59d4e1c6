namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// The copy kernel behind every layout op (permute, slice, pad, cat, expand): copies the
    /// elements of a strided view of <paramref name="src"/> into a strided region of
    /// <paramref name="dst"/>, both walked over <paramref name="sizes"/> in row-major order.
    /// </summary>
    /// <remarks>
    /// Dimensions both sides walk contiguously are merged first, so the inner loop is as long as
    /// possible: a contiguous run is one span copy, a broadcast run (source stride 0) one fill.
    /// When the source's innermost stride is not 1 (a transpose), the two innermost dimensions are
    /// copied in square tiles so that both sides stay in cache.
    /// </remarks>
    internal static void StridedCopy(float[] src, int srcOffset, int[] srcStrides,
        float[] dst, int dstOffset, int[] dstStrides, int[] sizes)
    {
        int total = NumelOf(sizes);
        if (total == 0) return;
        var (sz, st) = Broadcast.Collapse(sizes, srcStrides, dstStrides);
        int rank = sz.Length;
        int[] ss = st[0], ds = st[1];
        int inner = sz[rank - 1], sI = ss[rank - 1], dI = ds[rank - 1];
        bool tiled = rank >= 2 && sI > 1 && inner >= 8 && sz[rank - 2] >= 8;
        int outerRank = tiled ? rank - 2 : rank - 1;
        int block = tiled ? inner * sz[rank - 2] : inner;
        var idx = new int[rank];
        int so = srcOffset, dO = dstOffset;
        for (int pos = 0; pos < total; pos += block)
        {
            if (tiled) Tile(src, so, ss[rank - 2], sI, dst, dO, ds[rank - 2], dI, sz[rank - 2], inner);
            else if (sI == 1 && dI == 1) src.AsSpan(so, inner).CopyTo(dst.AsSpan(dO, inner));
            else if (sI == 0 && dI == 1) dst.AsSpan(dO, inner).Fill(src[so]);
            else for (int i = 0; i < inner; i++) dst[dO + i * dI] = src[so + i * sI];
            for (int d = outerRank - 1; d >= 0; d--)
            {
                so += ss[d]; dO += ds[d];
                if (++idx[d] < sz[d]) break;
                so -= ss[d] * sz[d]; dO -= ds[d] * sz[d];
                idx[d] = 0;
            }
        }
    }

    static void Tile(float[] src, int so, int sR, int sC, float[] dst, int dO, int dR, int dC, int rows, int cols)
    {
        const int B = 32;
        for (int i0 = 0; i0 < rows; i0 += B)
        {
            int i1 = Math.Min(rows, i0 + B);
            for (int j0 = 0; j0 < cols; j0 += B)
            {
                int j1 = Math.Min(cols, j0 + B);
                for (int i = i0; i < i1; i++)
                {
                    int s = so + i * sR, d = dO + i * dR;
                    for (int j = j0; j < j1; j++) dst[d + j * dC] = src[s + j * sC];
                }
            }
        }
    }
}
