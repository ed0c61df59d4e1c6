using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
/// 2-D convolution as im2col + GEMM, parallel over groups of images. The receptive fields of a few
/// images are laid out side by side as one (C/G * KH * KW) x (images * OH * OW) column matrix in
/// per-thread scratch memory — small enough to stay in cache, where a whole-batch im2col would
/// stream tens of megabytes through memory, and wide enough (about <see cref="TargetColumns"/>
/// columns) that the GEMM runs near its peak even for an 8 x 8 feature map. Backward recomputes the
/// columns instead of storing them. The batch is split into a number of chunks that depends only on
/// the shapes, and the weight gradient's per-chunk partial sums are added in chunk order, so results
/// are bitwise identical for any thread count.
/// </summary>
internal static unsafe class Conv2dKernel
{
    /// <summary>The GEMM width aimed for: enough columns to amortize packing the weights.</summary>
    const int TargetColumns = 1024;

    /// <summary>At most this many chunks (and weight-gradient partial sums) per call.</summary>
    const int MaxChunks = 8;

    /// <summary>
    /// Images per GEMM: about <see cref="TargetColumns"/> output pixels, then evened out over the groups
    /// that makes (32 images of 7 x 7 in groups of 16 and 16, not 20 and 12, which left one core idle
    /// for 40% of the layer). It depends on the shapes only, never on the thread count.
    /// </summary>
    static int ImagesPerGroup(in ConvShape s)
    {
        int n = Math.Max(1, s.N), target = Math.Clamp(TargetColumns / Math.Max(1, s.P), 1, n);
        int groups = (n + target - 1) / target;
        return (n + groups - 1) / groups;
    }

    static int Groups(in ConvShape s, int nb) => (s.N + nb - 1) / nb;

    // ---- forward ---------------------------------------------------------------------------

    public static void Forward(in ConvShape s, float[] x, float[] w, float[]? bias, float[] y)
    {
        if (WinogradConv.Accepts(s))
        {
            WinogradConv.Forward(s, x, w, bias, y);
            return;
        }
        // One image per GEMM with a bias: the bias rides in the GEMM as an extra column of the
        // weights times an extra row of ones in the columns, so the output is written once (a
        // prefilled bias would make the GEMM read it back: a whole extra pass over the output,
        // which is most of the cost when in_channels * KH * KW is small, as in a first layer).
        float[]? wb = bias is not null && ImagesPerGroup(s) == 1 && !s.Pointwise ? t_weightsWithBias = WeightsWithBias(s, w, bias, t_weightsWithBias) : null;
        ForwardGemm(s, x, w, bias, wb, y, relu: false);
    }

    /// <summary>
    /// The im2col + GEMM forward with <c>[W | b]</c> given (null for none: an inference model keeps its own,
    /// made once by <see cref="WeightsWithBias"/>), and relu(y) when <paramref name="relu"/>, applied to each
    /// image's output right after its GEMM, while it is in cache.
    /// </summary>
    public static void ForwardGemm(in ConvShape s, float[] x, float[] w, float[]? bias, float[]? wb, float[] y, bool relu, bool pool2 = false,
        PackedConvWeights? packed = null)
    {
        int nb = ImagesPerGroup(s), groups = Groups(s, nb);
        if (nb != 1 || s.Pointwise) wb = null;
        // The weights (each group's W, or [W | b]) packed once, on this thread, before the chunks read them:
        // as the GEMM's A operand, or as its B for the transposed product of a small image.
        bool transposed = packed is not null && wb is not null && TransposedFits(s.P, s.Og);
        Gemm.Packed[]? pa = packed?.For(s, wb ?? w, wb is not null, transposed);
        int band = nb == 1 && !s.Pointwise && !transposed ? BandRows(s, pool2) : 0;
        fixed (float* px = x, pw = w, py = y, pwb = wb)
        fixed (float* pb = bias)
        {
            if (band > 0)
            {
                var bands = new BandJob { S = s, Rows = band, X = px, Wt = pw, Bias = pb, Y = py, WtBias = pwb, Relu = relu, Pool = pool2, PackedWt = pa };
                WorkerPool.Run(bands, Math.Min(s.N * ((s.OH + band - 1) / band), MaxChunks), Threading.NumThreads);
                return;
            }
            var job = new ForwardJob
            {
                S = s, Nb = nb, X = px, Wt = pw, Bias = pb, Y = py, WtBias = pwb, Relu = relu, Pool = pool2, PackedWt = pa, Transposed = transposed,
            };
            WorkerPool.Run(job, Math.Min(groups, MaxChunks), Threading.NumThreads);
        }
    }

    /// <summary>
    /// An inference model's convolution weights packed once into the GEMM's layout, per group: W (k columns)
    /// and [W | b] (k + 1), each made on first use and made again if the micro-kernel changes.
    /// </summary>
    public sealed class PackedConvWeights
    {
        Gemm.Packed[]? _w, _wb, _wbT;

        /// <summary>Each group's W or [W | b] packed as the GEMM's A, or as B (op(B) = [W | b]^T) when <paramref name="asB"/>.</summary>
        internal Gemm.Packed[] For(in ConvShape s, float[] a, bool withBias, bool asB)
        {
            ref var slot = ref asB ? ref _wbT : ref withBias ? ref _wb : ref _w;
            if (slot is null || slot[0].Isa != Gemm.Selected)
            {
                int k = withBias ? s.K + 1 : s.K;
                var packs = new Gemm.Packed[s.G];
                fixed (float* pa = a)
                    for (int g = 0; g < s.G; g++)
                        packs[g] = asB ? Gemm.Prepack(false, true, k, s.Og, pa + (long)g * s.Og * k, k) : Gemm.Prepack(true, false, s.Og, k, pa + (long)g * s.Og * k, k);
                slot = packs;
            }
            return slot;
        }
    }

    /// <summary>
    /// Whether one image's product is better computed transposed, Y^T (P x Og) = col^T [W | b]^T, with the
    /// pixels as the GEMM's rows: the micro-tiles are MR = 8 rows by NR = 32 columns, so a 7 x 7 output
    /// (49 pixels) fills 49 of 64 columns but 49 of 56 rows, and a 14 x 14 one 196 of 224 against 196 of 200.
    /// </summary>
    internal static bool TransposedFits(int pixels, int outChannels)
    {
        var (mr, nr) = Gemm.Shape(Gemm.Selected);
        static int Up(int x, int m) => (x + m - 1) / m * m;
        double plain = (double)pixels / Up(pixels, nr) * outChannels / Up(outChannels, mr);
        double transposed = (double)pixels / Up(pixels, mr) * outChannels / Up(outChannels, nr);
        return transposed > plain + 0.05;
    }

    [ThreadStatic] static float[]? t_weightsWithBias;

    /// <summary>[W_g | b_g] per group: each output channel's K weights followed by its bias, in <paramref name="reuse"/> when large enough.</summary>
    public static float[] WeightsWithBias(in ConvShape s, float[] w, float[] bias, float[]? reuse = null)
    {
        int k = s.K, size = s.O * (k + 1);
        var a = reuse is { } t && t.Length >= size ? t : new float[size];
        for (int o = 0; o < s.O; o++)
        {
            w.AsSpan(o * k, k).CopyTo(a.AsSpan(o * (k + 1), k));
            a[o * (k + 1) + k] = bias[o];
        }
        return a;
    }

    sealed class ForwardJob : IParallelJob
    {
        public ConvShape S;
        public int Nb;
        public float* X, Wt, Bias, Y, WtBias;
        public bool Relu, Pool;
        public Gemm.Packed[]? PackedWt;
        /// <summary>PackedWt holds [W | b]^T as the GEMM's B: one image's output is computed as Y^T, then transposed.</summary>
        public bool Transposed;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var (g0, g1) = Chunks.Range(Groups(s, Nb), chunk, chunks);
            int k = s.K, p = s.P;
            // With Pool, Y is the 2x2-pooled output (OH / 2 x OW / 2 planes) and each image's convolution goes through ybuf.
            int pooled = (s.OH / 2) * (s.OW / 2);
            float* col = Scratch.Get((long)(k + 1 + (Transposed ? 2 : 1) * s.Og) * p * Nb);
            float* ybuf = col + (long)(k + 1) * p * Nb;
            for (int grp = g0; grp < g1; grp++)
            {
                int n0 = grp * Nb, nImg = Math.Min(Nb, s.N - n0), cols = nImg * p;
                for (int g = 0; g < s.G; g++)
                {
                    float* wg = Wt + (long)g * s.Og * k;
                    if (nImg == 1)
                    {
                        // One image: the GEMM reads the image (1x1) or its columns and writes y in place.
                        float* xg = X + ((long)n0 * s.C + (long)g * s.Cg) * s.H * s.W;
                        float* yg = Pool ? ybuf : Y + ((long)n0 * s.O + (long)g * s.Og) * p;
                        float* b = xg;
                        if (!s.Pointwise)
                        {
                            // The whole batch in this one chunk (one image): the other cores would idle through
                            // the im2col, so it is split over channels among them.
                            if (chunks == 1 && s.Cg >= 2 && (long)k * p >= ParallelIm2ColElements) ParallelIm2Col(s, xg, col, p);
                            else Im2Col(s, xg, col, p);
                            b = col;
                        }
                        if (WtBias != null)
                        {
                            new Span<float>(col + (long)k * p, p).Fill(1f); // the row of ones the bias column multiplies
                            if (Transposed)
                            {
                                float* yt = ybuf + (long)s.Og * p * Nb;
                                Gemm.Run(PackedWt![g], true, p, 1f, col, p, 0f, yt, s.Og);
                                Transpose(yt, p, s.Og, yg);
                            }
                            else if (PackedWt != null) Gemm.Run(PackedWt[g], false, p, 1f, col, p, 0f, yg, p);
                            else Gemm.Run(false, false, s.Og, p, k + 1, 1f, WtBias + (long)g * s.Og * (k + 1), k + 1, col, p, 0f, yg, p);
                        }
                        else
                        {
                            float beta = 0;
                            if (Bias != null)
                            {
                                for (int o = 0; o < s.Og; o++) new Span<float>(yg + (long)o * p, p).Fill(Bias[g * s.Og + o]);
                                beta = 1;
                            }
                            if (PackedWt != null) Gemm.Run(PackedWt[g], false, p, 1f, b, p, beta, yg, p);
                            else Gemm.Run(false, false, s.Og, p, k, 1f, wg, k, b, p, beta, yg, p);
                        }
                        if (Pool)
                        {
                            for (int o = 0; o < s.Og; o++)
                                Pool2(yg + (long)o * p, s.OH, s.OW, 0f, Relu, Y + ((long)n0 * s.O + (long)g * s.Og + o) * pooled);
                        }
                        else if (Relu) ReluInPlace(yg, (long)s.Og * p);
                        continue;
                    }
                    for (int j = 0; j < nImg; j++)
                        Im2Col(s, X + ((long)(n0 + j) * s.C + (long)g * s.Cg) * s.H * s.W, col + (long)j * p, cols);
                    if (PackedWt != null) Gemm.Run(PackedWt[g], false, cols, 1f, col, cols, 0f, ybuf, cols);
                    else Gemm.Run(false, false, s.Og, cols, k, 1f, wg, k, col, cols, 0f, ybuf, cols);
                    // (Og, images * P) -> (images, Og, P), adding the bias on the way.
                    for (int j = 0; j < nImg; j++)
                        for (int o = 0; o < s.Og; o++)
                        {
                            if (Pool)
                            {
                                Pool2(ybuf + (long)o * cols + (long)j * p, s.OH, s.OW, Bias != null ? Bias[g * s.Og + o] : 0f, Relu,
                                    Y + ((long)(n0 + j) * s.O + (long)g * s.Og + o) * pooled);
                                continue;
                            }
                            var src = new ReadOnlySpan<float>(ybuf + (long)o * cols + (long)j * p, p);
                            var dst = new Span<float>(Y + ((long)(n0 + j) * s.O + (long)g * s.Og + o) * p, p);
                            if (Bias != null) TensorPrimitives.Add(src, Bias[g * s.Og + o], dst);
                            else src.CopyTo(dst);
                            if (Relu) TensorPrimitives.Max(dst, 0f, dst);
                        }
                }
            }
        }
    }

    /// <summary>
    /// Output pixels of one band of a large image (<see cref="BandRows"/>): its columns and their packed copy stay in
    /// L2. A whole-image im2col of ResNet's 224 x 224 stem writes 7.4 MB of columns, which the GEMM reads back.
    /// </summary>
    internal static int BandPixels { get; set; } = 512;

    /// <summary>
    /// Output rows per band when an image is convolved in bands, each its own im2col and GEMM, else 0. Bands pay
    /// when the image's columns would far outgrow the L2 ((K + 1) P of at least 1,024 bands' pixels, 2 MB at 512
    /// pixels: ResNet's stem 1.76-2.12 -> 1.25-1.40 ms an image), and not below (ResNet-8's 32 x 32 layers, 0.6 MB
    /// of columns, ran 10-20% slower in bands). Even with pooling, so that each band holds whole 2 x 2 windows.
    /// </summary>
    internal static int BandRows(in ConvShape s, bool pool)
    {
        long pixels = (long)s.OH * s.OW;
        if (pixels < 2L * BandPixels || (s.K + 1) * pixels < 1024L * BandPixels) return 0;
        int rows = Math.Max(1, BandPixels / s.OW);
        if (pool) rows = Math.Max(2, rows & ~1);
        return rows >= s.OH ? 0 : rows;
    }

    /// <summary>
    /// One large image's convolution in bands of <see cref="Rows"/> output rows, each its own im2col and GEMM on
    /// one core, the bands of every image split over the cores. Each output is the GEMM's same sums as the whole
    /// image's product, so the result is bitwise that of <see cref="ForwardJob"/>.
    /// </summary>
    sealed class BandJob : IParallelJob
    {
        public ConvShape S;
        public int Rows;
        public float* X, Wt, Bias, Y, WtBias;
        public bool Relu, Pool;
        public Gemm.Packed[]? PackedWt;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            int bands = (s.OH + Rows - 1) / Rows, k = s.K, p = s.P, kw = WtBias != null ? k + 1 : k;
            var (u0, u1) = Chunks.Range(s.N * bands, chunk, chunks);
            int most = Rows * s.OW;
            float* col = Scratch.Get((long)(k + 1) * most + (Pool ? (long)s.Og * most : 0));
            float* ybuf = col + (long)(k + 1) * most;
            long pooled = (long)(s.OH / 2) * (s.OW / 2);
            for (int u = u0; u < u1; u++)
            {
                int n = u / bands, r0 = u % bands * Rows, r1 = Math.Min(s.OH, r0 + Rows), bp = (r1 - r0) * s.OW;
                for (int g = 0; g < s.G; g++)
                {
                    Im2Col(s, X + ((long)n * s.C + (long)g * s.Cg) * s.H * s.W, col, bp, r0, r1);
                    float* yg = Pool ? ybuf : Y + ((long)n * s.O + (long)g * s.Og) * p + (long)r0 * s.OW;
                    int ldc = Pool ? bp : p;
                    float beta = 0;
                    if (WtBias != null) new Span<float>(col + (long)k * bp, bp).Fill(1f); // the row of ones the bias column multiplies
                    else if (Bias != null)
                    {
                        for (int o = 0; o < s.Og; o++) new Span<float>(yg + (long)o * ldc, bp).Fill(Bias[g * s.Og + o]);
                        beta = 1;
                    }
                    if (PackedWt != null) Gemm.Run(PackedWt[g], false, bp, 1f, col, bp, beta, yg, ldc);
                    else Gemm.Run(false, false, s.Og, bp, kw, 1f, (WtBias != null ? WtBias : Wt) + (long)g * s.Og * kw, kw, col, bp, beta, yg, ldc);
                    for (int o = 0; o < s.Og; o++)
                    {
                        if (Pool) Pool2(ybuf + (long)o * bp, r1 - r0, s.OW, 0f, Relu, Y + ((long)n * s.O + (long)g * s.Og + o) * pooled + (long)(r0 / 2) * (s.OW / 2));
                        else if (Relu) ReluInPlace(yg + (long)o * p, bp);
                    }
                }
            }
        }
    }

    /// <summary>dst (cols x rows) = src (rows x cols)^T, in 8 x 8 blocks.</summary>
    static void Transpose(float* src, int rows, int cols, float* dst)
    {
        for (int i0 = 0; i0 < rows; i0 += 8)
            for (int j0 = 0; j0 < cols; j0 += 8)
            {
                int i1 = Math.Min(rows, i0 + 8), j1 = Math.Min(cols, j0 + 8);
                for (int j = j0; j < j1; j++)
                    for (int i = i0; i < i1; i++) dst[(long)j * rows + i] = src[(long)i * cols + j];
            }
    }

    /// <summary>The column matrix size from which one image's im2col is worth splitting over the cores.</summary>
    const long ParallelIm2ColElements = 1 << 18;

    /// <summary><see cref="Im2Col(in ConvShape, float*, float*, long)"/> of one group's channels, split into channel ranges run on the worker pool.</summary>
    static void ParallelIm2Col(in ConvShape s, float* x, float* col, long ld)
    {
        var job = new Im2ColJob { S = s, X = x, Col = col, Ld = ld };
        WorkerPool.Run(job, Math.Min(s.Cg, 2 * Threading.NumThreads), Threading.NumThreads);
    }

    sealed class Im2ColJob : IParallelJob
    {
        public ConvShape S;
        public float* X, Col;
        public long Ld;

        public void RunChunk(int chunk, int chunks)
        {
            var (c0, c1) = Chunks.Range(S.Cg, chunk, chunks);
            if (c1 <= c0) return;
            // The same im2col over channels [c0, c1): a shape of c1 - c0 channels and one group.
            var part = S with { C = c1 - c0, G = 1 };
            Im2Col(part, X + (long)c0 * S.H * S.W, Col + (long)c0 * S.KH * S.KW * Ld, Ld);
        }
    }

    /// <summary>
    /// 2x2 stride-2 max pooling of one oh x ow plane into its (oh / 2) x (ow / 2) plane, after adding
    /// <paramref name="bias"/> and, with <paramref name="relu"/>, clamping at 0 (both commute with the maximum).
    /// </summary>
    internal static void Pool2(float* src, int oh, int ow, float bias, bool relu, float* dst)
    {
        int ph = oh / 2, pw = ow / 2;
        float floor = relu ? 0f : float.NegativeInfinity;
        for (int r = 0; r < ph; r++)
        {
            float* a = src + (long)2 * r * ow, b = a + ow, d = dst + (long)r * pw;
            for (int c = 0; c < pw; c++)
            {
                float m = Math.Max(Math.Max(a[2 * c], a[2 * c + 1]), Math.Max(b[2 * c], b[2 * c + 1])) + bias;
                d[c] = float.IsNaN(m) ? m : Math.Max(m, floor);
            }
        }
    }

    static void ReluInPlace(float* y, long n)
    {
        for (long i = 0; i < n; i += int.MaxValue / 2)
        {
            var span = new Span<float>(y + i, (int)Math.Min(n - i, int.MaxValue / 2));
            TensorPrimitives.Max(span, 0f, span);
        }
    }

    // ---- backward --------------------------------------------------------------------------

    /// <summary>
    /// Gradients of the convolution: <paramref name="dx"/> (overwritten) when not null,
    /// <paramref name="dw"/> and <paramref name="db"/> (overwritten) when not null.
    /// </summary>
    public static void Backward(in ConvShape s, float[] x, float[] w, float[] dy, float[]? dx, float[]? dw, float[]? db)
    {
        if (WinogradConv.Accepts(s))
        {
            WinogradConv.Backward(s, x, w, dy, dx, dw, db);
            return;
        }
        if (dx is not null && s.SH == 1 && s.SW == 1 && s.DH == 1 && s.DW == 1 && s.G == 1 && s.PH < s.KH && s.PW < s.KW
            && s.C >= s.O)
        {
            // With stride 1 the input gradient is itself a convolution: of dY with the kernel rotated
            // by 180 degrees and its channel roles swapped, padded by K - 1 - padding. Run as a forward
            // convolution (its GEMM has in_channels rows and out_channels * KH * KW as inner
            // dimension) it beats W^T dY followed by col2im, whose GEMM has only out_channels as its
            // inner dimension, unless in_channels is the smaller (measured: ResNet's 16-channel
            // convolutions 8.7 -> 7.1 ms per training step; cnn_train's 32 -> 64 one slower).
            var wt = RotatedTransposedWeight(s, w);
            var t = new ConvShape(s.N, s.O, s.OH, s.OW, s.C, s.KH, s.KW, 1, 1, s.KH - 1 - s.PH, s.KW - 1 - s.PW, 1, 1, 1);
            Forward(t, dy, wt, null, dx);
            dx = null;
            if (dw is null && db is null) return;
        }
        int nb = ImagesPerGroup(s), groups = Groups(s, nb);
        int chunks = Math.Min(groups, MaxChunks);
        long wSize = (long)s.O * s.K, partSize = wSize + s.O;
        // Per-chunk partial sums of dW and db, summed in chunk order afterwards.
        float[]? partials = dw is null && db is null ? null : PartialsArray(chunks * partSize);
        fixed (float* px = x, pw = w, pdy = dy, pdx = dx, ppart = partials)
        {
            var job = new BackwardJob
            {
                S = s, Nb = nb, X = px, Wt = pw, Dy = pdy, Dx = pdx, WantW = dw is not null, WantB = db is not null,
                Partials = ppart, PartialSize = partSize, Band = nb == 1 && dx is null ? BandRows(s, pool: false) : 0,
            };
            WorkerPool.Run(job, chunks, Threading.NumThreads);
        }
        if (partials is null) return;
        var all = partials.AsSpan(0, (int)(chunks * partSize));
        if (dw is not null) Chunks.SumInOrder(all, partSize, 0, (int)wSize, chunks, dw);
        if (db is not null) Chunks.SumInOrder(all, partSize, wSize, s.O, chunks, db);
    }

    /// <summary>The fraction of the micro-tiles' work that is useful for an m x n result (8 x 32 tiles).</summary>
    static double TileUse(int m, int n) => m / (double)((m + 7) / 8 * 8) * (n / (double)((n + 31) / 32 * 32));

    [ThreadStatic] static float[]? t_partials, t_rotated;

    /// <summary>W'[c, o, i, j] = W[o, c, KH - 1 - i, KW - 1 - j], in a reused per-thread array.</summary>
    static float[] RotatedTransposedWeight(in ConvShape s, float[] w)
    {
        int size = s.O * s.C * s.KH * s.KW;
        var r = t_rotated is { } a && a.Length >= size ? a : t_rotated = new float[size];
        int kk = s.KH * s.KW;
        for (int o = 0; o < s.O; o++)
            for (int c = 0; c < s.C; c++)
            {
                int src = (o * s.C + c) * kk, dst = (c * s.O + o) * kk;
                for (int t = 0; t < kk; t++) r[dst + t] = w[src + kk - 1 - t];
            }
        return r;
    }

    /// <summary>A managed array of at least <paramref name="size"/> floats, kept per calling thread.</summary>
    static float[] PartialsArray(long size)
    {
        var a = t_partials;
        if (a is null || a.Length < size) t_partials = a = new float[size];
        return a;
    }

    sealed class BackwardJob : IParallelJob
    {
        public ConvShape S;
        public int Nb;
        public float* X, Wt, Dy, Dx, Partials;
        public long PartialSize;
        public bool WantW, WantB;
        /// <summary>
        /// Output rows per band of a large image's weight gradient (0: the whole image), as its forward takes them
        /// (<see cref="BandRows"/>): with no input gradient to compute, each band's columns are made and used in cache.
        /// </summary>
        public int Band;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var (g0, g1) = Chunks.Range(Groups(s, Nb), chunk, chunks);
            int k = s.K, p = s.P;
            float* pw = Partials == null ? null : Partials + chunk * PartialSize;
            float* pb = pw == null ? null : pw + (long)s.O * k;
            if (WantW) new Span<float>(pw, s.O * k).Clear();
            if (WantB) new Span<float>(pb, s.O).Clear();
            long width = (long)p * Nb;
            // The columns (for dW), the columns' gradient (for dX) and the gathered output gradient.
            // dW is computed transposed (dW^T = columns . dY^T) when that shape fills the GEMM's
            // micro-tiles better: a 1-channel 3x3 convolution has K = 9 columns of dW, a third of a
            // 32-wide tile, but 9 rows fill more than half of two 8-tall ones.
            bool transposedDw = WantW && TileUse(k, s.Og) > TileUse(s.Og, k);
            long dwT = transposedDw ? (long)s.G * k * s.Og : 0;
            float* col = Scratch.Get((2L * k + s.Og) * width + dwT);
            float* dcol = col + k * width;
            float* dyBuf = dcol + k * width;
            float* dwtBuf = dyBuf + s.Og * width;
            if (transposedDw) new Span<float>(dwtBuf, (int)dwT).Clear();
            for (int grp = g0; grp < g1; grp++)
            {
                int n0 = grp * Nb, nImg = Math.Min(Nb, s.N - n0), cols = nImg * p;
                bool direct = nImg == 1;
                for (int g = 0; g < s.G; g++)
                {
                    float* wg = Wt + (long)g * s.Og * k;
                    float* dyg;
                    if (direct) dyg = Dy + ((long)n0 * s.O + (long)g * s.Og) * p;
                    else
                    {
                        // (images, Og, P) -> (Og, images * P)
                        dyg = dyBuf;
                        for (int j = 0; j < nImg; j++)
                            for (int o = 0; o < s.Og; o++)
                                new ReadOnlySpan<float>(Dy + ((long)(n0 + j) * s.O + (long)g * s.Og + o) * p, p)
                                    .CopyTo(new Span<float>(dyBuf + (long)o * cols + (long)j * p, p));
                    }
                    if (WantW)
                    {
                        float* b;
                        if (direct && Band > 0 && !s.Pointwise)
                        {
                            float* xg = X + ((long)n0 * s.C + (long)g * s.Cg) * s.H * s.W;
                            for (int r0 = 0; r0 < s.OH; r0 += Band)
                            {
                                int r1 = Math.Min(s.OH, r0 + Band), bp = (r1 - r0) * s.OW;
                                Im2Col(s, xg, col, bp, r0, r1);
                                float* dyb = dyg + (long)r0 * s.OW; // the band's outputs: rows of bp floats, P apart
                                if (transposedDw) Gemm.Run(false, true, k, s.Og, bp, 1f, col, bp, dyb, p, 1f, dwtBuf + (long)g * k * s.Og, s.Og);
                                else Gemm.Run(false, true, s.Og, k, bp, 1f, dyb, p, col, bp, 1f, pw + (long)g * s.Og * k, k);
                            }
                        }
                        else
                        {
                            if (direct && s.Pointwise) b = X + ((long)n0 * s.C + (long)g * s.Cg) * s.H * s.W;
                            else
                            {
                                for (int j = 0; j < nImg; j++)
                                    Im2Col(s, X + ((long)(n0 + j) * s.C + (long)g * s.Cg) * s.H * s.W, col + (long)j * p, cols);
                                b = col;
                            }
                            if (transposedDw) // dW_g^T += columns (K x cols) . dY_g^T (cols x Og)
                                Gemm.Run(false, true, k, s.Og, cols, 1f, b, cols, dyg, cols, 1f, dwtBuf + (long)g * k * s.Og, s.Og);
                            else // dW_g += dY_g (Og x cols) . columns^T (cols x K)
                                Gemm.Run(false, true, s.Og, k, cols, 1f, dyg, cols, b, cols, 1f, pw + (long)g * s.Og * k, k);
                        }
                    }
                    if (WantB)
                        for (int o = 0; o < s.Og; o++) pb[g * s.Og + o] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyg + (long)o * cols, cols));
                    if (Dx != null)
                    {
                        if (direct && s.Pointwise)
                        {
                            // dX_g (Cg x HW) = W_g^T (Cg x Og) . dY_g (Og x P)
                            Gemm.Run(true, false, k, p, s.Og, 1f, wg, k, dyg, p, 0f, Dx + ((long)n0 * s.C + (long)g * s.Cg) * s.H * s.W, p);
                            continue;
                        }
                        Gemm.Run(true, false, k, cols, s.Og, 1f, wg, k, dyg, cols, 0f, dcol, cols);
                        for (int j = 0; j < nImg; j++)
                        {
                            float* dxg = Dx + ((long)(n0 + j) * s.C + (long)g * s.Cg) * s.H * s.W;
                            new Span<float>(dxg, s.Cg * s.H * s.W).Clear();
                            Col2Im(s, dcol + (long)j * p, cols, dxg);
                        }
                    }
                }
            }
            if (transposedDw)
                for (int g = 0; g < s.G; g++)
                    for (int o = 0; o < s.Og; o++)
                        for (int kk = 0; kk < k; kk++)
                            pw[((long)g * s.Og + o) * k + kk] = dwtBuf[((long)g * k + kk) * s.Og + o];
        }
    }

    // ---- layout ----------------------------------------------------------------------------

    /// <summary>
    /// Writes the column matrix of one image and group: row (c, i, j) holds, for every output pixel,
    /// the input value the kernel tap (i, j) of channel c sees there (0 in the padding). Rows are
    /// <paramref name="ld"/> floats apart, so several images' columns can sit side by side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Im2Col(in ConvShape s, float* x, float* col, long ld) => Im2Col(s, x, col, ld, 0, s.OH);

    /// <summary><see cref="Im2Col(in ConvShape, float*, float*, long)"/> of output rows [r0, r1) alone: output (r, q) at column (r − r0) OW + q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Im2Col(in ConvShape s, float* x, float* col, long ld, int r0, int r1)
    {
        int oh = s.OH, ow = s.OW;
        bool whole = r0 == 0 && r1 == oh;
        for (int c = 0; c < s.Cg; c++)
        {
            float* xc = x + (long)c * s.H * s.W;
            for (int i = 0; i < s.KH; i++)
                for (int j = 0; j < s.KW; j++)
                {
                    float* row = col + ((long)(c * s.KH + i) * s.KW + j) * ld;
                    int dj = j * s.DW - s.PW;
                    if (whole && s.SH == 1 && s.SW == 1 && ow == s.W)
                    {
                        ShiftedPlaneCopy(s, xc, row, i * s.DH - s.PH, dj);
                        continue;
                    }
                    // Output columns whose input column lies inside the image: [owLo, owHi).
                    int owLo = dj >= 0 ? 0 : (-dj + s.SW - 1) / s.SW;
                    int owHi = Math.Clamp((s.W - dj + s.SW - 1) / s.SW, owLo, ow);
                    for (int r = r0; r < r1; r++)
                    {
                        float* dst = row + (long)(r - r0) * ow;
                        int ih = r * s.SH - s.PH + i * s.DH;
                        if ((uint)ih >= (uint)s.H)
                        {
                            new Span<float>(dst, ow).Clear();
                            continue;
                        }
                        float* src = xc + (long)ih * s.W + dj;
                        for (int q = 0; q < owLo; q++) dst[q] = 0;
                        if (s.SW == 1) Buffer.MemoryCopy(src + owLo, dst + owLo, (owHi - owLo) * 4L, (owHi - owLo) * 4L);
                        else if (s.SW == 2) EvenElements(src + 2 * owLo, dst + owLo, owHi - owLo);
                        else for (int q = owLo; q < owHi; q++) dst[q] = src[q * s.SW];
                        for (int q = owHi; q < ow; q++) dst[q] = 0;
                    }
                }
        }
    }

    /// <summary>The adjoint of <c>Im2Col</c>: adds each column entry back onto the input pixel it came from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Col2Im(in ConvShape s, float* col, long ld, float* dx)
    {
        int oh = s.OH, ow = s.OW;
        for (int c = 0; c < s.Cg; c++)
        {
            float* dxc = dx + (long)c * s.H * s.W;
            for (int i = 0; i < s.KH; i++)
                for (int j = 0; j < s.KW; j++)
                {
                    float* row = col + ((long)(c * s.KH + i) * s.KW + j) * ld;
                    int dj = j * s.DW - s.PW;
                    if (s.SH == 1 && s.SW == 1 && ow == s.W)
                    {
                        ShiftedPlaneAdd(s, row, dxc, i * s.DH - s.PH, dj);
                        continue;
                    }
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
                        else if (s.SW == 2) AddToEvenElements(src + owLo, dst + 2 * owLo, owHi - owLo);
                        else for (int q = owLo; q < owHi; q++) dst[q * s.SW] += src[q];
                    }
                }
        }
    }

    /// <summary>
    /// Im2col's row for one tap when the stride is 1 and the output is as wide as the input ('same'
    /// convolutions): the row is the input plane shifted by <paramref name="di"/> rows and
    /// <paramref name="dj"/> columns, so the valid rows are one contiguous copy (instead of one small
    /// copy per output row); the columns that wrapped around a row edge and the rows outside the
    /// image are then zeroed.
    /// </summary>
    static void ShiftedPlaneCopy(in ConvShape s, float* plane, float* dst, int di, int dj)
    {
        int w = s.W, oh = s.OH;
        int r0 = Math.Clamp(-di, 0, oh), r1 = Math.Clamp(s.H - di, r0, oh);
        new Span<float>(dst, r0 * w).Clear();
        new Span<float>(dst + (long)r1 * w, (oh - r1) * w).Clear();
        if (r1 == r0) return;
        // Skip the first |dj| (dj < 0) or last dj (dj > 0) elements: they wrap, and reading them
        // could step outside the plane.
        long start = (long)r0 * w + Math.Max(0, -dj), end = (long)r1 * w - Math.Max(0, dj);
        if (end > start)
            new ReadOnlySpan<float>(plane + start + (long)di * w + dj, (int)(end - start)).CopyTo(new Span<float>(dst + start, (int)(end - start)));
        ZeroWrapped(dst, w, r0, r1, dj);
    }

    /// <summary>The adjoint of <see cref="ShiftedPlaneCopy"/>: the wrapped entries of the column row are zeroed (it is scratch), then the valid rows are added in one pass.</summary>
    static void ShiftedPlaneAdd(in ConvShape s, float* src, float* plane, int di, int dj)
    {
        int w = s.W, oh = s.OH;
        int r0 = Math.Clamp(-di, 0, oh), r1 = Math.Clamp(s.H - di, r0, oh);
        if (r1 == r0) return;
        ZeroWrapped(src, w, r0, r1, dj);
        long start = (long)r0 * w + Math.Max(0, -dj), end = (long)r1 * w - Math.Max(0, dj);
        if (end <= start) return;
        var d = new Span<float>(plane + start + (long)di * w + dj, (int)(end - start));
        TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + start, (int)(end - start)), d);
    }

    /// <summary>Zeroes, in rows [r0, r1) of width w, the columns whose source column q + dj lies outside [0, w).</summary>
    static void ZeroWrapped(float* rows, int w, int r0, int r1, int dj)
    {
        if (dj == 0) return;
        int lo = dj < 0 ? 0 : Math.Max(0, w - dj), hi = dj < 0 ? Math.Min(w, -dj) : w;
        for (int r = r0; r < r1; r++)
            for (int q = lo; q < hi; q++) rows[(long)r * w + q] = 0;
    }

    /// <summary>
    /// dst[q] = src[2 q] for q &lt; count (stride-2 im2col rows): eight at a time from two loads and an
    /// even-lane shuffle. A vector never reads past src[2 (count - 1)], the last element needed.
    /// </summary>
    static void EvenElements(float* src, float* dst, int count)
    {
        int q = 0;
        if (Avx2.IsSupported && count >= 9)
        {
            // Loads cover src[2q .. 2q + 15], needing 2q + 15 <= 2 (count - 1): q <= count - 9.
            for (; q <= count - 9; q += 8) Even8(src + 2 * q, dst + q);
            if (q < count - 1)
            {
                Even8(src + 2 * (count - 9), dst + count - 9); // overlaps what is done: same values
                q = count - 1;
            }
        }
        for (; q < count; q++) dst[q] = src[2 * q];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Even8(float* src, float* dst)
    {
        var a = Avx.LoadVector256(src);
        var b = Avx.LoadVector256(src + 8);
        // (a0 a2 b0 b2 | a4 a6 b4 b6) -> (a0 a2 a4 a6 b0 b2 b4 b6)
        Avx.Store(dst, Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle());
    }

    /// <summary>dst[2 q] += src[q] for q &lt; count (stride-2 col2im rows), the adjoint of <see cref="EvenElements"/>.</summary>
    static void AddToEvenElements(float* src, float* dst, int count)
    {
        int q = 0;
        if (Avx2.IsSupported)
            for (; q <= count - 9; q += 8)
            {
                // (s0 0 s1 0 | s4 0 s5 0) and (s2 0 s3 0 | s6 0 s7 0), then lanes reordered.
                var v = Avx.LoadVector256(src + q);
                var lo = Avx.UnpackLow(v, Vector256<float>.Zero);
                var hi = Avx.UnpackHigh(v, Vector256<float>.Zero);
                float* d = dst + 2 * q;
                Avx.Store(d, Avx.Add(Avx.LoadVector256(d), Avx.Permute2x128(lo, hi, 0x20)));
                Avx.Store(d + 8, Avx.Add(Avx.LoadVector256(d + 8), Avx.Permute2x128(lo, hi, 0x31)));
            }
        for (; q < count; q++) dst[2 * q] += src[q];
    }
}
