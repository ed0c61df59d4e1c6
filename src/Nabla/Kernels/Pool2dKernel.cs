using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>The sizes of one 2-D pooling: planes (N * C) of H x W in, OH x OW out.</summary>
internal readonly record struct PoolShape(int Planes, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW);

/// <summary>Max and average pooling over (N * C) independent planes, parallel over planes.</summary>
internal static unsafe class Pool2dKernel
{
    static int Chunks(in PoolShape s) => (int)Math.Clamp((long)s.Planes * s.OH * s.OW / 16384, 1, 2L * Threading.NumThreads);

    /// <summary>
    /// Max pooling; <paramref name="argmax"/> receives, per output, the flat index within its plane
    /// of the first maximum (stored as float, exact below 2^24), which backward routes the gradient to.
    /// A window of NaNs propagates NaN, as PyTorch.
    /// </summary>
    public static void MaxForward(in PoolShape s, float[] x, float[] y, float[] argmax)
    {
        fixed (float* px = x, py = y, pa = argmax)
        {
            var job = new MaxJob { S = s, X = px, Y = py, A = pa };
            WorkerPool.Run(job, Chunks(s), Threading.NumThreads);
        }
    }

    /// <summary>
    /// Max pooling without the argmax (nothing will back-propagate: inference): per output row, the
    /// elementwise maximum of the window's input rows (vectorized), then each window's maximum along it.
    /// Padding counts as -inf; NaN propagates.
    /// </summary>
    public static void MaxForwardNoIndex(in PoolShape s, float[] x, float[] y)
    {
        fixed (float* px = x, py = y)
        {
            var job = new MaxRowsJob { S = s, X = px, Y = py };
            WorkerPool.Run(job, Chunks(s), Threading.NumThreads);
        }
    }

    sealed class MaxRowsJob : IParallelJob
    {
        public PoolShape S;
        public float* X, Y;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            int p0 = (int)((long)s.Planes * chunk / chunks), p1 = (int)((long)s.Planes * (chunk + 1) / chunks);
            float* row = Scratch.Get(s.W);
            var rowSpan = new Span<float>(row, s.W);
            for (int pl = p0; pl < p1; pl++)
            {
                float* xp = X + (long)pl * s.H * s.W;
                float* yp = Y + (long)pl * s.OH * s.OW;
                for (int oh = 0; oh < s.OH; oh++)
                {
                    int h0 = Math.Max(0, oh * s.SH - s.PH), h1 = Math.Min(s.H, oh * s.SH - s.PH + s.KH);
                    new ReadOnlySpan<float>(xp + (long)h0 * s.W, s.W).CopyTo(rowSpan);
                    for (int i = h0 + 1; i < h1; i++)
                    {
                        float* r = xp + (long)i * s.W;
                        if (s.W >= 64) System.Numerics.Tensors.TensorPrimitives.Max(rowSpan, new ReadOnlySpan<float>(r, s.W), rowSpan);
                        else
                            for (int j = 0; j < s.W; j++)
                            {
                                float v = r[j];
                                if (v > row[j] || float.IsNaN(v)) row[j] = v;
                            }
                    }
                    float* yr = yp + (long)oh * s.OW;
                    // Windows wholly inside the row, [inA, inB), need no clipping: 3-wide ones (ResNet's stem pool) unrolled.
                    int inA = Math.Min(s.OW, (s.PW + s.SW - 1) / s.SW), lastStart = s.W - s.KW + s.PW;
                    int inB = lastStart < 0 ? inA : Math.Max(inA, Math.Min(s.OW, lastStart / s.SW + 1));
                    for (int ow = 0; ow < s.OW; ow++)
                    {
                        if (ow == inA && s.KW == 3)
                        {
                            for (; ow < inB; ow++)
                            {
                                float* q = row + ow * s.SW - s.PW;
                                yr[ow] = Math.Max(Math.Max(q[0], q[1]), q[2]); // Math.Max propagates NaN
                            }
                            if (ow >= s.OW) break;
                        }
                        int w0 = Math.Max(0, ow * s.SW - s.PW), w1 = Math.Min(s.W, ow * s.SW - s.PW + s.KW);
                        float best = row[w0];
                        for (int j = w0 + 1; j < w1; j++)
                        {
                            float v = row[j];
                            if (v > best || float.IsNaN(v)) best = v;
                        }
                        yr[ow] = best;
                    }
                }
            }
        }
    }

    sealed class MaxJob : IParallelJob
    {
        public PoolShape S;
        public float* X, Y, A;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            int p0 = (int)((long)s.Planes * chunk / chunks), p1 = (int)((long)s.Planes * (chunk + 1) / chunks);
            bool fast2 = s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.PH == 0 && s.PW == 0;
            for (int pl = p0; pl < p1; pl++)
            {
                float* xp = X + (long)pl * s.H * s.W;
                float* yp = Y + (long)pl * s.OH * s.OW;
                float* ap = A + (long)pl * s.OH * s.OW;
                for (int oh = 0; oh < s.OH; oh++)
                {
                    if (fast2)
                    {
                        Max2x2Row(xp + 2L * oh * s.W, s.W, s.OW, yp + (long)oh * s.OW, ap + (long)oh * s.OW, 2 * oh * s.W,
                            xp + (long)s.H * s.W, yp + (long)s.OH * s.OW);
                        continue;
                    }
                    int h0 = oh * s.SH - s.PH;
                    for (int ow = 0; ow < s.OW; ow++)
                    {
                        int w0 = ow * s.SW - s.PW;
                        float best = float.NegativeInfinity;
                        int bi = -1;
                        for (int i = Math.Max(0, h0); i < Math.Min(s.H, h0 + s.KH); i++)
                            for (int j = Math.Max(0, w0); j < Math.Min(s.W, w0 + s.KW); j++)
                            {
                                float v = xp[i * s.W + j];
                                if (bi < 0 || v > best || (float.IsNaN(v) && !float.IsNaN(best))) { best = v; bi = i * s.W + j; }
                            }
                        yp[oh * s.OW + ow] = best;
                        ap[oh * s.OW + ow] = bi;
                    }
                }
            }
        }
    }

    /// <summary>
    /// 2x2 max pooling of relu((x - mean) a + b) over one h x w plane, never writing the
    /// normalized values: batch norm, ReLU and pooling fused (see <c>Functional.BatchNormReluMaxPool2</c>).
    /// The values and argmax equal those of the three steps one after the other.
    /// </summary>
    public static void AffineReluMax2x2(ReadOnlySpan<float> plane, int h, int w, float mean, float a, float b, Span<float> y, Span<float> argmax)
    {
        int oh = h / 2, ow = w / 2;
        fixed (float* px = plane, py = y, pa = argmax)
            for (int r = 0; r < oh; r++)
                Max2x2Row(px + 2L * r * w, w, ow, py + (long)r * ow, pa + (long)r * ow, 2 * r * w,
                    px + (long)h * w, py + (long)oh * ow, true, mean, a, b);
    }

    /// <summary>
    /// One output row of 2x2, stride-2 max pooling: rows r0 = <paramref name="r0"/> and r0 + w of the
    /// input. Branch-free (random data makes every comparison a coin flip, and mispredicted branches
    /// cost more than the arithmetic): eight outputs at a time with AVX, choosing the maximum and its
    /// index by masks; NaN wins, and among equal values the first in the window does, as PyTorch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2Row(float* r0, int w, int ow, float* y, float* argmax, int rowBase, float* xEnd, float* yEnd,
        bool affine = false, float mean = 0, float a = 1, float b = 0)
    {
        float* r1 = r0 + w;
        int q = 0;
        if (Avx2.IsSupported)
        {
            var lane = Vector256.Create(0f, 2, 4, 6, 8, 10, 12, 14);
            var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var offB = Vector256.Create(1f);
            var offC = Vector256.Create((float)w);
            var offD = Vector256.Create((float)w + 1);
            var vMean = Vector256.Create(mean);
            var vA = Vector256.Create(a);
            var vB = Vector256.Create(b);
            float* tmp = stackalloc float[16];
            for (; q < ow; q += 8)
            {
                Vector256<float> a0, a1, b0, b1;
                int cols = w - 2 * q, outs = ow - q;
                // Full loads also where the row ends but the plane goes on (the extra lanes read the
                // next row and are never stored): only the plane's last row needs masked loads.
                if (cols >= 16 || r1 + 2 * q + 16 <= xEnd)
                {
                    a0 = Avx.LoadVector256(r0 + 2 * q);
                    a1 = Avx.LoadVector256(r0 + 2 * q + 8);
                    b0 = Avx.LoadVector256(r1 + 2 * q);
                    b1 = Avx.LoadVector256(r1 + 2 * q + 8);
                }
                else
                {
                    // The row's tail: masked loads never touch memory past the row.
                    var m0 = Vector256.LessThan(index, Vector256.Create(cols)).AsSingle();
                    var m1 = Vector256.LessThan(index, Vector256.Create(cols - 8)).AsSingle();
                    a0 = Avx.MaskLoad(r0 + 2 * q, m0);
                    a1 = Avx.MaskLoad(r0 + 2 * q + 8, m1);
                    b0 = Avx.MaskLoad(r1 + 2 * q, m0);
                    b1 = Avx.MaskLoad(r1 + 2 * q + 8, m1);
                }
                if (affine)
                {
                    // Exactly batch norm's arithmetic (NormKernels.Affine) and ReLU's.
                    a0 = Vector256.Max(Vector256.MultiplyAddEstimate(a0 - vMean, vA, vB), Vector256<float>.Zero);
                    a1 = Vector256.Max(Vector256.MultiplyAddEstimate(a1 - vMean, vA, vB), Vector256<float>.Zero);
                    b0 = Vector256.Max(Vector256.MultiplyAddEstimate(b0 - vMean, vA, vB), Vector256<float>.Zero);
                    b1 = Vector256.Max(Vector256.MultiplyAddEstimate(b1 - vMean, vA, vB), Vector256<float>.Zero);
                }
                // Even and odd columns, in the lane order (0 2 8 10 | 4 6 12 14), undone by Order.
                var best = Order(Avx.Shuffle(a0, a1, 0x88));
                var cb = Order(Avx.Shuffle(a0, a1, 0xDD));
                var cc = Order(Avx.Shuffle(b0, b1, 0x88));
                var cd = Order(Avx.Shuffle(b0, b1, 0xDD));
                var off = Vector256<float>.Zero;
                Pick(ref best, ref off, cb, offB);
                Pick(ref best, ref off, cc, offC);
                Pick(ref best, ref off, cd, offD);
                var idx = Vector256.Create((float)(rowBase + 2 * q)) + lane + off;
                if (outs >= 8 || y + q + 8 <= yEnd)
                {
                    // Past the row's end the extra lanes land on the next output row, written after.
                    best.Store(y + q);
                    idx.Store(argmax + q);
                }
                else
                {
                    // Masked stores are microcoded and slow on some processors (AMD): spill and copy.
                    best.Store(tmp);
                    idx.Store(tmp + 8);
                    for (int t = 0; t < outs; t++)
                    {
                        y[q + t] = tmp[t];
                        argmax[q + t] = tmp[8 + t];
                    }
                }
            }
            return;
        }
        for (; q < ow; q++)
        {
            int c = 2 * q;
            float best = T(r0[c]);
            int bi = rowBase + c;
            ScalarPick(ref best, ref bi, T(r0[c + 1]), rowBase + c + 1);
            ScalarPick(ref best, ref bi, T(r1[c]), rowBase + w + c);
            ScalarPick(ref best, ref bi, T(r1[c + 1]), rowBase + w + c + 1);
            y[q] = best;
            argmax[q] = bi;
        }

        float T(float v) => affine ? MathF.Max(float.MultiplyAddEstimate(v - mean, a, b), 0f) : v; // rounded as NormKernels.Affine
    }

    /// <summary>(0 2 8 10 | 4 6 12 14) to (0 2 4 6 | 8 10 12 14): swaps the middle 64-bit pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Order(Vector256<float> v) => Avx2.Permute4x64(v.AsDouble(), 0xD8).AsSingle();

    /// <summary>Takes candidate <paramref name="c"/> where it is larger than the best so far, or NaN where the best is not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pick(ref Vector256<float> best, ref Vector256<float> off, Vector256<float> c, Vector256<float> cOff)
    {
        var take = Vector256.GreaterThan(c, best) | (~Vector256.Equals(c, c) & Vector256.Equals(best, best));
        best = Vector256.ConditionalSelect(take, c, best);
        off = Vector256.ConditionalSelect(take, cOff, off);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScalarPick(ref float best, ref int bi, float c, int ci)
    {
        if (c > best || (float.IsNaN(c) && !float.IsNaN(best)))
        {
            best = c;
            bi = ci;
        }
    }

    /// <summary>Adds each output gradient onto the input position that was its window's maximum; dx is overwritten.</summary>
    public static void MaxBackward(in PoolShape s, float[] dy, float[] argmax, float[] dx)
    {
        fixed (float* pdy = dy, pa = argmax, pdx = dx)
        {
            var job = new MaxBackwardJob { S = s, Dy = pdy, A = pa, Dx = pdx };
            WorkerPool.Run(job, Chunks(s), Threading.NumThreads);
        }
    }

    sealed class MaxBackwardJob : IParallelJob
    {
        public PoolShape S;
        public float* Dy, A, Dx;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            int p0 = (int)((long)s.Planes * chunk / chunks), p1 = (int)((long)s.Planes * (chunk + 1) / chunks);
            int hw = s.H * s.W, ohw = s.OH * s.OW;
            // Plane by plane, so the cleared plane is still in cache when the gradients land in it.
            for (int pl = p0; pl < p1; pl++)
            {
                float* dxp = Dx + (long)pl * hw;
                float* dyp = Dy + (long)pl * ohw;
                float* ap = A + (long)pl * ohw;
                new Span<float>(dxp, hw).Clear();
                for (int q = 0; q < ohw; q++) dxp[(int)ap[q]] += dyp[q];
            }
        }
    }

    /// <summary>
    /// Average pooling. The divisor is the window's size including padding
    /// (<paramref name="countIncludePad"/>, PyTorch's default) or only the pixels inside the image.
    /// </summary>
    public static void AvgForward(in PoolShape s, bool countIncludePad, float[] x, float[] y)
    {
        int hw = s.H * s.W, ohw = s.OH * s.OW;
        for (int pl = 0; pl < s.Planes; pl++)
            for (int oh = 0; oh < s.OH; oh++)
                for (int ow = 0; ow < s.OW; ow++)
                {
                    var (i0, i1, j0, j1, div) = Window(s, oh, ow, countIncludePad);
                    double sum = 0;
                    for (int i = i0; i < i1; i++)
                        for (int j = j0; j < j1; j++) sum += x[pl * hw + i * s.W + j];
                    y[pl * ohw + oh * s.OW + ow] = (float)(sum / div);
                }
    }

    /// <summary>Spreads each output gradient evenly over its window; dx is overwritten.</summary>
    public static void AvgBackward(in PoolShape s, bool countIncludePad, float[] dy, float[] dx)
    {
        Array.Clear(dx);
        int hw = s.H * s.W, ohw = s.OH * s.OW;
        for (int pl = 0; pl < s.Planes; pl++)
            for (int oh = 0; oh < s.OH; oh++)
                for (int ow = 0; ow < s.OW; ow++)
                {
                    var (i0, i1, j0, j1, div) = Window(s, oh, ow, countIncludePad);
                    float g = (float)(dy[pl * ohw + oh * s.OW + ow] / div);
                    for (int i = i0; i < i1; i++)
                        for (int j = j0; j < j1; j++) dx[pl * hw + i * s.W + j] += g;
                }
    }

    static (int, int, int, int, int) Window(in PoolShape s, int oh, int ow, bool countIncludePad)
    {
        int h0 = oh * s.SH - s.PH, w0 = ow * s.SW - s.PW;
        int h1 = Math.Min(h0 + s.KH, s.H + s.PH), w1 = Math.Min(w0 + s.KW, s.W + s.PW);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, s.H); w1 = Math.Min(w1, s.W);
        int div = countIncludePad ? padded : (h1 - h0) * (w1 - w0);
        return (h0, h1, w0, w1, Math.Max(div, 1));
    }

    /// <summary>
    /// Adaptive average pooling to OH x OW, as PyTorch: output cell i covers input rows
    /// [floor(i H / OH), ceil((i + 1) H / OH)), and likewise for columns.
    /// </summary>
    public static void AdaptiveAvg(int planes, int h, int w, int oh, int ow, float[] src, float[] dst, bool backward)
    {
        int hw = h * w, ohw = oh * ow;
        if (backward) Array.Clear(dst);
        for (int pl = 0; pl < planes; pl++)
            for (int a = 0; a < oh; a++)
            {
                int i0 = a * h / oh, i1 = ((a + 1) * h + oh - 1) / oh;
                for (int b = 0; b < ow; b++)
                {
                    int j0 = b * w / ow, j1 = ((b + 1) * w + ow - 1) / ow;
                    int count = (i1 - i0) * (j1 - j0);
                    if (!backward)
                    {
                        double sum = 0;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++) sum += src[pl * hw + i * w + j];
                        dst[pl * ohw + a * ow + b] = (float)(sum / count);
                    }
                    else
                    {
                        float g = src[pl * ohw + a * ow + b] / count;
                        for (int i = i0; i < i1; i++)
                            for (int j = j0; j < j1; j++) dst[pl * hw + i * w + j] += g;
                    }
                }
            }
    }
}
