using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Nabla.Kernels;

/// <summary>The sizes of one 2-D convolution: input (N, C, H, W), weight (O, C/G, KH, KW), output (N, O, OH, OW).</summary>
internal readonly record struct ConvShape(int N, int C, int H, int W, int O, int KH, int KW,
    int SH, int SW, int PH, int PW, int DH, int DW, int G)
{
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
    public int Cg => C / G;
    public int Og => O / G;

    /// <summary>Rows of the column matrix of one group: Cg * KH * KW.</summary>
    public int K => Cg * KH * KW;

    /// <summary>Output pixels per image.</summary>
    public int P => OH * OW;

    /// <summary>A 1x1, stride 1, unpadded convolution: the image itself is the column matrix.</summary>
    public bool Pointwise => KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
}

/// <summary>
/// 2-D convolution as im2col + GEMM, parallel over images. Each image's receptive fields are laid
/// out as a (C/G * KH * KW) x (OH * OW) column matrix in per-thread scratch memory (small enough to
/// stay in cache, where a whole-batch im2col would stream tens of megabytes through memory), and
/// one GEMM per group multiplies the weights with it. Backward recomputes the columns instead of
/// storing them. Images are split into a fixed number of chunks that depends only on the batch
/// size, and the weight gradient's per-chunk partial sums are added in chunk order, so results are
/// bitwise identical for any thread count.
/// </summary>
internal static unsafe class Conv2dKernel
{
    /// <summary>Chunks of images for a batch of <paramref name="n"/>: fixed by n, never by the thread count.</summary>
    static int Chunks(int n) => Math.Min(n, 8);

    static (int, int) ImageRange(int n, int chunk, int chunks) => ((int)((long)n * chunk / chunks), (int)((long)n * (chunk + 1) / chunks));

    // ---- forward ---------------------------------------------------------------------------

    public static void Forward(in ConvShape s, float[] x, float[] w, float[]? bias, float[] y)
    {
        fixed (float* px = x, pw = w, py = y)
        fixed (float* pb = bias)
        {
            var job = new ForwardJob { S = s, X = px, Wt = pw, Bias = pb, Y = py };
            int chunks = Chunks(s.N);
            WorkerPool.Run(job, chunks, Threading.NumThreads);
        }
    }

    sealed class ForwardJob : IParallelJob
    {
        public ConvShape S;
        public float* X, Wt, Bias, Y;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var (n0, n1) = ImageRange(s.N, chunk, chunks);
            int k = s.K, p = s.P;
            float* col = s.Pointwise ? null : Scratch.Get((long)k * p);
            for (int n = n0; n < n1; n++)
                for (int g = 0; g < s.G; g++)
                {
                    float* xg = X + ((long)n * s.C + (long)g * s.Cg) * s.H * s.W;
                    float* yg = Y + ((long)n * s.O + (long)g * s.Og) * p;
                    float* b = xg;
                    if (!s.Pointwise)
                    {
                        Im2Col(s, xg, col);
                        b = col;
                    }
                    float beta = 0;
                    if (Bias != null)
                    {
                        for (int o = 0; o < s.Og; o++) new Span<float>(yg + (long)o * p, p).Fill(Bias[g * s.Og + o]);
                        beta = 1;
                    }
                    Gemm.Run(false, false, s.Og, p, k, 1f, Wt + (long)g * s.Og * k, k, b, p, beta, yg, p);
                }
        }
    }

    // ---- backward --------------------------------------------------------------------------

    /// <summary>
    /// Gradients of the convolution: <paramref name="dx"/> (overwritten) when not null,
    /// <paramref name="dw"/> and <paramref name="db"/> (overwritten) when not null.
    /// </summary>
    public static void Backward(in ConvShape s, float[] x, float[] w, float[] dy, float[]? dx, float[]? dw, float[]? db)
    {
        int chunks = Chunks(s.N);
        long wSize = (long)s.O * s.K;
        // Per-chunk partial sums of dW and db, summed in chunk order afterwards.
        float[]? partials = dw is null && db is null ? null : ArrayPool(chunks * (wSize + s.O));
        fixed (float* px = x, pw = w, pdy = dy, pdx = dx, pdw = dw, pdb = db, ppart = partials)
        {
            var job = new BackwardJob
            {
                S = s, X = px, Wt = pw, Dy = pdy, Dx = pdx, WantW = dw is not null, WantB = db is not null,
                Partials = ppart, PartialSize = wSize + s.O,
            };
            WorkerPool.Run(job, chunks, Threading.NumThreads);
            if (partials is not null)
            {
                var all = new ReadOnlySpan<float>(ppart, (int)(chunks * (wSize + s.O)));
                if (dw is not null)
                {
                    all[..(int)wSize].CopyTo(dw);
                    for (int c = 1; c < chunks; c++) TensorPrimitives.Add(dw, all.Slice((int)(c * (wSize + s.O)), (int)wSize), dw);
                }
                if (db is not null)
                {
                    all.Slice((int)wSize, s.O).CopyTo(db);
                    for (int c = 1; c < chunks; c++) TensorPrimitives.Add(db, all.Slice((int)(c * (wSize + s.O) + wSize), s.O), db);
                }
            }
        }
    }

    [ThreadStatic] static float[]? t_partials;

    /// <summary>A reused managed array of at least <paramref name="size"/> floats (kept per thread).</summary>
    static float[] ArrayPool(long size)
    {
        var a = t_partials;
        if (a is null || a.Length < size) t_partials = a = new float[size];
        return a;
    }

    sealed class BackwardJob : IParallelJob
    {
        public ConvShape S;
        public float* X, Wt, Dy, Dx, Partials;
        public long PartialSize;
        public bool WantW, WantB;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var (n0, n1) = ImageRange(s.N, chunk, chunks);
            int k = s.K, p = s.P;
            float* pw = Partials == null ? null : Partials + chunk * PartialSize;
            float* pb = pw == null ? null : pw + (long)s.O * k;
            if (WantW) new Span<float>(pw, s.O * k).Clear();
            if (WantB) new Span<float>(pb, s.O).Clear();
            // Two column buffers: one for the image's columns (dW), one for dColumns (dX).
            float* col = s.Pointwise ? null : Scratch.Get(2L * k * p);
            float* dcol = s.Pointwise ? null : col + (long)k * p;
            for (int n = n0; n < n1; n++)
                for (int g = 0; g < s.G; g++)
                {
                    float* xg = X + ((long)n * s.C + (long)g * s.Cg) * s.H * s.W;
                    float* dyg = Dy + ((long)n * s.O + (long)g * s.Og) * p;
                    float* wg = Wt + (long)g * s.Og * k;
                    if (WantW)
                    {
                        float* b = xg;
                        if (!s.Pointwise)
                        {
                            Im2Col(s, xg, col);
                            b = col;
                        }
                        // dW_g += dY_g (Og x P) . cols^T (P x K)
                        Gemm.Run(false, true, s.Og, k, p, 1f, dyg, p, b, p, 1f, pw + (long)g * s.Og * k, k);
                    }
                    if (WantB)
                        for (int o = 0; o < s.Og; o++) pb[g * s.Og + o] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyg + (long)o * p, p));
                    if (Dx != null)
                    {
                        float* dxg = Dx + ((long)n * s.C + (long)g * s.Cg) * s.H * s.W;
                        if (s.Pointwise)
                        {
                            // dX_g (Cg x HW) = W_g^T (Cg x Og) . dY_g (Og x P)
                            Gemm.Run(true, false, k, p, s.Og, 1f, wg, k, dyg, p, 0f, dxg, p);
                        }
                        else
                        {
                            Gemm.Run(true, false, k, p, s.Og, 1f, wg, k, dyg, p, 0f, dcol, p);
                            new Span<float>(dxg, s.Cg * s.H * s.W).Clear();
                            Col2Im(s, dcol, dxg);
                        }
                    }
                }
        }
    }

    // ---- layout ----------------------------------------------------------------------------

    /// <summary>
    /// Writes the column matrix of one image and group: row (c, i, j) holds, for every output pixel,
    /// the input value the kernel tap (i, j) of channel c sees there (0 in the padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Im2Col(in ConvShape s, float* x, float* col)
    {
        int oh = s.OH, ow = s.OW, p = s.P;
        for (int c = 0; c < s.Cg; c++)
        {
            float* xc = x + (long)c * s.H * s.W;
            for (int i = 0; i < s.KH; i++)
                for (int j = 0; j < s.KW; j++)
                {
                    float* row = col + ((long)(c * s.KH + i) * s.KW + j) * p;
                    int dj = j * s.DW - s.PW;
                    // Output columns whose input column lies inside the image: [owLo, owHi).
                    int owLo = dj >= 0 ? 0 : (-dj + s.SW - 1) / s.SW;
                    int owHi = Math.Clamp((s.W - dj + s.SW - 1) / s.SW, owLo, ow);
                    for (int r = 0; r < oh; r++)
                    {
                        float* dst = row + (long)r * ow;
                        int ih = r * s.SH - s.PH + i * s.DH;
                        if ((uint)ih >= (uint)s.H)
                        {
                            new Span<float>(dst, ow).Clear();
                            continue;
                        }
                        float* src = xc + (long)ih * s.W + dj;
                        for (int q = 0; q < owLo; q++) dst[q] = 0;
                        if (s.SW == 1) Buffer.MemoryCopy(src + owLo, dst + owLo, (owHi - owLo) * 4L, (owHi - owLo) * 4L);
                        else for (int q = owLo; q < owHi; q++) dst[q] = src[q * s.SW];
                        for (int q = owHi; q < ow; q++) dst[q] = 0;
                    }
                }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds each column entry back onto the input pixel it came from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Col2Im(in ConvShape s, float* col, float* dx)
    {
        int oh = s.OH, ow = s.OW, p = s.P;
        for (int c = 0; c < s.Cg; c++)
        {
            float* dxc = dx + (long)c * s.H * s.W;
            for (int i = 0; i < s.KH; i++)
                for (int j = 0; j < s.KW; j++)
                {
                    float* row = col + ((long)(c * s.KH + i) * s.KW + j) * p;
                    int dj = j * s.DW - s.PW;
                    int owLo = dj >= 0 ? 0 : (-dj + s.SW - 1) / s.SW;
                    int owHi = Math.Clamp((s.W - dj + s.SW - 1) / s.SW, owLo, ow);
                    for (int r = 0; r < oh; r++)
                    {
                        int ih = r * s.SH - s.PH + i * s.DH;
                        if ((uint)ih >= (uint)s.H) continue;
                        float* src = row + (long)r * ow;
                        float* dst = dxc + (long)ih * s.W + dj;
                        if (s.SW == 1)
                        {
                            var d = new Span<float>(dst + owLo, owHi - owLo);
                            TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + owLo, owHi - owLo), d);
                        }
                        else for (int q = owLo; q < owHi; q++) dst[q * s.SW] += src[q];
                    }
                }
        }
    }
}
