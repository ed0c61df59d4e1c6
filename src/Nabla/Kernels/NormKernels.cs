using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Nabla.Kernels;

/// <summary>
/// Span kernels shared by the normalizations. Each works on one contiguous run of a statistic's
/// group (a channel's H*W plane, a row of a layer), so callers fuse a whole pass into one sweep.
/// </summary>
/// <remarks>
/// Sums are taken in float within blocks of <see cref="Block"/> elements (in vector lanes, so the
/// error grows with the block's length divided by the lane count) and the block results are added
/// in double. Deviations are always formed as x - mean before squaring or weighting, never as
/// E[x^2] - E[x]^2, which cancels catastrophically when the mean is large next to the spread.
/// </remarks>
internal static class NormKernels
{
    /// <summary>Elements summed in float before the partial sum is carried on in double.</summary>
    public const int Block = 4096;

    /// <summary>Σ x.</summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += Block) s += TensorPrimitives.Sum(x.Slice(i, Math.Min(Block, x.Length - i)));
        return s;
    }

    /// <summary>Σ (x - mean)^2.</summary>
    public static double SumSqDev(ReadOnlySpan<float> x, float mean)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += Block) s += SumSqDevBlock(x.Slice(i, Math.Min(Block, x.Length - i)), mean);
        return s;
    }

    /// <summary>(Σ dy, Σ dy (x - mean)) in one sweep: the two sums every normalization backward needs.</summary>
    public static (double SumDy, double SumDyDev) SumAndDotDev(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean)
    {
        double s0 = 0, s1 = 0;
        for (int i0 = 0; i0 < x.Length; i0 += Block)
        {
            int n = Math.Min(Block, x.Length - i0), w = Vector<float>.Count, i = 0;
            ref float xr = ref MemoryMarshal.GetReference(x[i0..]);
            ref float gr = ref MemoryMarshal.GetReference(dy[i0..]);
            var vm = new Vector<float>(mean);
            Vector<float> a0 = default, a1 = default, b0 = default, b1 = default;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                var g0 = Vector.LoadUnsafe(ref gr, (nuint)i);
                var g1 = Vector.LoadUnsafe(ref gr, (nuint)(i + w));
                a0 += g0;
                a1 += g1;
                b0 = Vector.MultiplyAddEstimate(g0, Vector.LoadUnsafe(ref xr, (nuint)i) - vm, b0);
                b1 = Vector.MultiplyAddEstimate(g1, Vector.LoadUnsafe(ref xr, (nuint)(i + w)) - vm, b1);
            }
            float f0 = Vector.Sum(a0 + a1), f1 = Vector.Sum(b0 + b1);
            for (; i < n; i++)
            {
                f0 += dy[i0 + i];
                f1 += dy[i0 + i] * (x[i0 + i] - mean);
            }
            s0 += f0;
            s1 += f1;
        }
        return (s0, s1);
    }

    static float SumSqDevBlock(ReadOnlySpan<float> x, float mean)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        var m = new Vector<float>(mean);
        Vector<float> a0 = default, a1 = default;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            var d0 = Vector.LoadUnsafe(ref xr, (nuint)i) - m;
            var d1 = Vector.LoadUnsafe(ref xr, (nuint)(i + w)) - m;
            a0 = Vector.MultiplyAddEstimate(d0, d0, a0);
            a1 = Vector.MultiplyAddEstimate(d1, d1, a1);
        }
        float s = Vector.Sum(a0 + a1);
        for (; i < n; i++)
        {
            float d = x[i] - mean;
            s += d * d;
        }
        return s;
    }

    /// <summary>y = (x - mean) a + b: normalization and a per-run affine map in one sweep.</summary>
    public static void Affine(ReadOnlySpan<float> x, float mean, float a, float b, Span<float> y)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        var vm = new Vector<float>(mean);
        var va = new Vector<float>(a);
        var vb = new Vector<float>(b);
        for (; i <= n - w; i += w)
            Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref xr, (nuint)i) - vm, va, vb).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) y[i] = float.MultiplyAddEstimate(x[i] - mean, a, b); // rounded as the vector lanes, with or without FMA
    }

    /// <summary>y = (x - mean) invstd gamma + beta, with per-element gamma and beta (layer norm).</summary>
    public static void AffineElementwise(ReadOnlySpan<float> x, float mean, float invstd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(gamma);
        ref float br = ref MemoryMarshal.GetReference(beta);
        ref float yr = ref MemoryMarshal.GetReference(y);
        var vm = new Vector<float>(mean);
        var vs = new Vector<float>(invstd);
        for (; i <= n - w; i += w)
        {
            var xh = (Vector.LoadUnsafe(ref xr, (nuint)i) - vm) * vs;
            Vector.MultiplyAddEstimate(xh, Vector.LoadUnsafe(ref gr, (nuint)i), Vector.LoadUnsafe(ref br, (nuint)i))
                .StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) y[i] = (x[i] - mean) * invstd * gamma[i] + beta[i];
    }

    /// <summary>
    /// dx = a dy - k (x - mean) - b: the input gradient of a normalization group, with
    /// a = gamma invstd, k = gamma invstd^3 Σ dy (x - mean) / M and b = gamma invstd Σ dy / M.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float a, float k, float b, Span<float> dx)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        var vm = new Vector<float>(mean);
        var va = new Vector<float>(a);
        var vk = new Vector<float>(k);
        var vb = new Vector<float>(b);
        for (; i <= n - w; i += w)
        {
            var sub = Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref xr, (nuint)i) - vm, vk, vb);
            Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref gr, (nuint)i), va, -sub).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) dx[i] = dy[i] * a - ((x[i] - mean) * k + b);
    }

    /// <summary>dx = invstd gamma dy - k (x - mean) - b, with per-element gamma (layer norm).</summary>
    public static void BackwardElementwise(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma,
        float mean, float invstd, float k, float b, Span<float> dx)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float wr = ref MemoryMarshal.GetReference(gamma);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        var vm = new Vector<float>(mean);
        var vs = new Vector<float>(invstd);
        var vk = new Vector<float>(k);
        var vb = new Vector<float>(b);
        for (; i <= n - w; i += w)
        {
            var sub = Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref xr, (nuint)i) - vm, vk, vb);
            var a = Vector.LoadUnsafe(ref wr, (nuint)i) * vs;
            Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref gr, (nuint)i), a, -sub).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) dx[i] = dy[i] * (gamma[i] * invstd) - ((x[i] - mean) * k + b);
    }

    /// <summary>(Σ gamma dy, Σ gamma dy (x - mean)) over a row with per-element gamma.</summary>
    public static (double SumGDy, double SumGDyDev) GammaSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gamma, float mean)
    {
        double s0 = 0, s1 = 0;
        for (int i0 = 0; i0 < x.Length; i0 += Block)
        {
            int n = Math.Min(Block, x.Length - i0), w = Vector<float>.Count, i = 0;
            ref float xr = ref MemoryMarshal.GetReference(x[i0..]);
            ref float gr = ref MemoryMarshal.GetReference(dy[i0..]);
            ref float wr = ref MemoryMarshal.GetReference(gamma[i0..]);
            var vm = new Vector<float>(mean);
            Vector<float> a0 = default, a1 = default;
            for (; i <= n - w; i += w)
            {
                var gdy = Vector.LoadUnsafe(ref gr, (nuint)i) * Vector.LoadUnsafe(ref wr, (nuint)i);
                a0 += gdy;
                a1 = Vector.MultiplyAddEstimate(gdy, Vector.LoadUnsafe(ref xr, (nuint)i) - vm, a1);
            }
            float f0 = Vector.Sum(a0), f1 = Vector.Sum(a1);
            for (; i < n; i++)
            {
                float gdy = dy[i0 + i] * gamma[i0 + i];
                f0 += gdy;
                f1 += gdy * (x[i0 + i] - mean);
            }
            s0 += f0;
            s1 += f1;
        }
        return (s0, s1);
    }

    /// <summary>acc += dy (x - mean) invstd: a row's contribution to a per-element gamma gradient.</summary>
    public static void AccumulateDGamma(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float invstd, Span<float> acc)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float ar = ref MemoryMarshal.GetReference(acc);
        var vm = new Vector<float>(mean);
        var vs = new Vector<float>(invstd);
        for (; i <= n - w; i += w)
        {
            var xh = (Vector.LoadUnsafe(ref xr, (nuint)i) - vm) * vs;
            Vector.MultiplyAddEstimate(Vector.LoadUnsafe(ref gr, (nuint)i), xh, Vector.LoadUnsafe(ref ar, (nuint)i))
                .StoreUnsafe(ref ar, (nuint)i);
        }
        for (; i < n; i++) acc[i] += dy[i] * ((x[i] - mean) * invstd);
    }

    /// <summary>Rows summed in float before the column sums are carried on in double.</summary>
    public const int RowBlock = 64;

    /// <summary>
    /// Column sums of a (rows, width) matrix: result[j] += Σ_r f(r, j) with f = a (no center),
    /// (a - center)^2 (center, no b) or b (a - center) (both). Vectorized along the rows, for layouts
    /// whose groups are strided (batch norm over (N, C) with one value per channel and sample).
    /// </summary>
    public static void ColumnReduce(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float[]? center, int rows, int width, double[] result)
    {
        var acc = new float[width];
        var tmp = new float[center is null ? 0 : width];
        for (int r = 0; r < rows; r++)
        {
            var ar = a.Slice(r * width, width);
            if (center is null) TensorPrimitives.Add(acc, ar, acc);
            else
            {
                TensorPrimitives.Subtract(ar, center, tmp);
                var weightRow = b.IsEmpty ? tmp : b.Slice(r * width, width);
                TensorPrimitives.MultiplyAdd(weightRow, tmp, acc, acc);
            }
            if ((r + 1) % RowBlock == 0 || r == rows - 1)
            {
                for (int j = 0; j < width; j++) result[j] += acc[j];
                Array.Clear(acc);
            }
        }
    }
}
