using System.Runtime.CompilerServices;

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
                        float* r0 = xp + 2L * oh * s.W, r1 = r0 + s.W;
                        for (int ow = 0; ow < s.OW; ow++)
                        {
                            int c = 2 * ow;
                            float best = r0[c]; int bi = 2 * oh * s.W + c;
                            if (r0[c + 1] > best || float.IsNaN(r0[c + 1])) { best = r0[c + 1]; bi = 2 * oh * s.W + c + 1; }
                            if (r1[c] > best || float.IsNaN(r1[c])) { best = r1[c]; bi = (2 * oh + 1) * s.W + c; }
                            if (r1[c + 1] > best || float.IsNaN(r1[c + 1])) { best = r1[c + 1]; bi = (2 * oh + 1) * s.W + c + 1; }
                            yp[oh * s.OW + ow] = best;
                            ap[oh * s.OW + ow] = bi;
                        }
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
