using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// 3x3, stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2015):
/// each 2x2 block of outputs is computed from a 4x4 block of inputs with 16 multiplications per
/// input channel instead of 36, 2.25 times fewer. With V = B^T d B (input tile), U = G g G^T
/// (filter) and Y = A^T (sum over channels of U . V) A, the sum over channels for each of the 16
/// tile positions is a matrix product, so the work becomes 16 GEMMs of (out x in) by
/// (in x tiles). Backward is the same algebra transposed: dM = A dY A^T, dV = sum over outputs of
/// U . dM (16 GEMMs), dX = B dV B^T; dU = sum over tiles of dM V (16 GEMMs), dW = G^T dU G.
/// </summary>
/// <remarks>
/// Transforms run on eight tiles at a time with AVX2 (neighbouring tiles' inputs are the even and
/// odd columns of one row segment). Images are padded into a per-thread plane so no transform
/// tests bounds; each row of tiles is rounded up to a multiple of eight (the extra tiles' results
/// are discarded, their gradients are zero). The split of images into chunks depends only on the
/// shapes, and the weight gradient's per-chunk partial sums are added in chunk order, so results
/// are bitwise identical for any thread count. F(2x2, 3x3)'s transforms add and subtract values of
/// similar size; its error is within a few units of float32 rounding of the direct sum.
/// </remarks>
internal static unsafe class WinogradConv
{
    const int MaxChunks = 8;
    const int TargetTiles = 512;

    /// <summary>On unless NABLA_WINOGRAD=0; tests switch it to compare with the im2col path.</summary>
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("NABLA_WINOGRAD") != "0";

    /// <summary>
    /// Fewest input and output channels worth the transforms: the 16 GEMMs have the channel counts
    /// as dimensions, and with 16 channels they run slower than the transforms save (measured:
    /// ResNet's 16-channel layers 9.4 -> 12 ms per training step, the 32-channel ones 7.0 -> 5.8,
    /// cnn_train's 32 -> 64 one 21-25 -> 16-19).
    /// </summary>
    internal static int MinChannels { get; set; } = 32;

    /// <summary>Whether this convolution runs here: 3x3, stride 1, no dilation or groups, wide enough rows, enough channels.</summary>
    public static bool Accepts(in ConvShape s) => Accepts(s, MinTiles);

    /// <summary><see cref="Accepts(in ConvShape)"/> with another least number of tiles (an inference model's, <see cref="PreparedMinTiles"/>).</summary>
    public static bool Accepts(in ConvShape s, int minTiles) =>
        Enabled && Avx2.IsSupported && Fma.IsSupported && s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 && s.DH == 1 && s.DW == 1
        && s.G == 1 && s.PH == s.PW && s.PH <= 2 && s.OW >= 13 && s.OH >= 2 && s.C >= MinChannels && s.O >= MinChannels
        // Enough tiles for the 16 products to be real GEMMs: in training, one 14 x 14 image (56 tiles) runs faster as im2col.
        && (long)s.N * ((s.OH + 1) / 2) * ((s.OW + 1) / 2 + 7) / 8 * 8 >= minTiles;

    /// <summary>The fewest tiles (over the batch) worth the transforms.</summary>
    internal static int MinTiles { get; set; } = 128;

    /// <summary>
    /// The fewest tiles worth the transforms when the filters are transformed and packed once (an inference
    /// model): one 14 x 14 image's 56 tiles then beat its transposed im2col product (ResNet-18 at batch 1:
    /// 39.3-40.3 -> 41.2-42.7 images/s in alternating runs).
    /// </summary>
    internal const int PreparedMinTiles = 48;

    /// <summary>Tile geometry: tiles per column and per (rounded) row, padded plane size.</summary>
    readonly record struct Geo(int TH, int TW, int TWr, int Hp, int Wp, int Nb)
    {
        public int TilesPerImage => TH * TWr;
    }

    static Geo GeoOf(in ConvShape s)
    {
        int th = (s.OH + 1) / 2, tw = (s.OW + 1) / 2, twr = (tw + 7) / 8 * 8;
        int nb = Math.Clamp(TargetTiles / (th * twr), 1, s.N);
        int groups = (s.N + nb - 1) / nb;
        nb = (s.N + groups - 1) / groups; // evened out over the groups (shapes only, not threads)
        return new Geo(th, tw, twr, 2 * th + 2, 2 * twr + 2, nb);
    }

    // ---- forward ---------------------------------------------------------------------------

    public static void Forward(in ConvShape s, float[] x, float[] w, float[]? bias, float[] y) =>
        ForwardTransformed(s, x, FilterTransform(s, w), bias, y, relu: false);

    /// <summary>
    /// The forward pass with the filters already transformed (<see cref="TransformFilters"/>, kept by an
    /// inference model instead of redone every call), and relu(y) when <paramref name="relu"/>, applied
    /// as each output tile is written.
    /// </summary>
    public static void ForwardTransformed(in ConvShape s, float[] x, float[] u, float[]? bias, float[] y, bool relu, bool pool2 = false,
        Gemm.Packed[]? packedU = null)
    {
        var g = GeoOf(s);
        int groups = (s.N + g.Nb - 1) / g.Nb;
        if (groups == 1 && Threading.NumThreads > 1 && !Threading.SerialOnThisThread)
        {
            ForwardPhased(s, g, x, u, bias, y, relu, pool2, packedU);
            return;
        }
        fixed (float* px = x, pu = u, py = y)
        fixed (float* pb = bias)
        {
            var job = new ForwardJob { S = s, G = g, X = px, U = pu, Bias = pb, Y = py, Relu = relu, Pool = pool2, PackedU = packedU };
            WorkerPool.Run(job, Math.Min(groups, MaxChunks), Threading.NumThreads);
        }
    }

    /// <summary>
    /// One group of images (a batch of 1, say) on every core: the input transform split over channels,
    /// the 16 products as one parallel job (<see cref="ProductsJob"/>), the output transform split over output
    /// channels — where the per-group job would leave all but one core idle outside the GEMMs.
    /// </summary>
    static void ForwardPhased(in ConvShape s, in Geo g, float[] x, float[] u, float[]? bias, float[] y, bool relu, bool pool2, Gemm.Packed[]? packedU)
    {
        long t = (long)s.N * g.TilesPerImage;
        float* v = Scratch.GetSecond(16 * (s.C + s.O) * t);
        float* m = v + 16 * s.C * t;
        int threads = Threading.NumThreads;
        fixed (float* px = x, pu = u, py = y)
        fixed (float* pb = bias)
        {
            var input = new InputPhase { S = s, G = g, X = px, V = v, T = t };
            WorkerPool.Run(input, Math.Min(s.N * s.C, 4 * threads), threads);
            var (columns, chunks, block) = Gemm.Split(s.O, (int)t, s.C, packedU != null);
            if (chunks > 1 && 16L * s.O * s.C <= ProductsJobMaxFilterFloats)
            {
                var products = new ProductsJob { S = s, U = pu, PackedU = packedU, V = v, M = m, T = t, Columns = columns, Block = block };
                WorkerPool.Run(products, chunks, threads);
            }
            else Products(s, pu, packedU, v, m, (int)t, t);
            var output = new OutputPhase { S = s, G = g, M = m, T = t, Bias = pb, Y = py, Relu = relu, Pool = pool2 };
            WorkerPool.Run(output, Math.Min(s.N * s.O, 4 * threads), threads);
        }
    }

    /// <summary>
    /// M_xi (O x tiles) = U_xi (O x C) . V_xi (C x tiles) for the 16 tile positions xi, with U packed once
    /// (<see cref="PackTransformed"/>) when given; V and M have rows <paramref name="ld"/> apart.
    /// </summary>
    static void Products(in ConvShape s, float* u, Gemm.Packed[]? packedU, float* v, float* m, int tiles, long ld)
    {
        for (int xi = 0; xi < 16; xi++)
            if (packedU != null) Gemm.Run(packedU[xi], false, tiles, 1f, v + xi * s.C * ld, (int)ld, 0f, m + xi * s.O * ld, (int)ld);
            else Gemm.Run(false, false, s.O, tiles, s.C, 1f, u + (long)xi * s.O * s.C, s.C, v + xi * s.C * ld, (int)ld, 0f, m + xi * s.O * ld, (int)ld);
    }

    /// <summary>Output channel <paramref name="o"/> of image <paramref name="image"/> from its products: the plane, or its 2x2-pooled plane.</summary>
    static void OutputPlane(in ConvShape s, in Geo g, float* m, long xiStride, float* y, int image, int o, float* bias, float* tmp, bool relu, bool pool)
    {
        float b = bias == null ? 0f : bias[o];
        if (pool) OutputTransformPooled(s, g, m, xiStride, y + ((long)image * s.O + o) * PooledPlane(s), b, tmp, relu);
        else OutputTransform(s, g, m, xiStride, y + ((long)image * s.O + o) * s.OH * s.OW, b, tmp, relu);
    }

    /// <summary>
    /// The largest transformed filters (16 O C floats, 1 MB) whose products run as one job: with larger ones
    /// (the 512-channel 7 x 7 layers of a batch side by side, 16 MB) the two cores sweeping different products at
    /// once read twice the filters, and batch 32 ran 2.5-4.9% slower.
    /// </summary>
    const long ProductsJobMaxFilterFloats = 1 << 18;

    /// <summary>
    /// The 16 products as one parallel job, split as each product's GEMM would be: each chunk takes the same
    /// range of tiles (or of output channels) in all 16, where 16 GEMMs in turn would each end with a wait
    /// (ResNet-18 at batch 1: 189 parallel jobs a forward before; +1% with the two cores on one last-level
    /// cache, level with them apart, in paired intervals). Only for filters up to <see cref="ProductsJobMaxFilterFloats"/>.
    /// </summary>
    sealed class ProductsJob : IParallelJob
    {
        public ConvShape S;
        public float* U, V, M;
        public Gemm.Packed[]? PackedU;
        public long T;
        public bool Columns;
        public int Block;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            long t = T;
            var (lo, hi) = Gemm.Range(Columns ? (int)t : s.O, Block, chunk, chunks);
            if (hi <= lo) return;
            for (int xi = 0; xi < 16; xi++)
            {
                float* vx = V + xi * s.C * t, mx = M + xi * s.O * t;
                if (Columns)
                {
                    if (PackedU != null) Gemm.Run(PackedU[xi], false, hi - lo, 1f, vx + lo, (int)t, 0f, mx + lo, (int)t);
                    else Gemm.Run(false, false, s.O, hi - lo, s.C, 1f, U + (long)xi * s.O * s.C, s.C, vx + lo, (int)t, 0f, mx + lo, (int)t);
                }
                else if (PackedU != null) Gemm.RunRows(PackedU[xi], (int)t, 1f, vx, (int)t, 0f, mx, (int)t, lo, hi);
                else Gemm.Run(false, false, hi - lo, (int)t, s.C, 1f, U + (long)xi * s.O * s.C + (long)lo * s.C, s.C, vx, (int)t, 0f, mx + lo * t, (int)t);
            }
        }
    }

    sealed class InputPhase : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* X, V;
        public long T;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            var (a, b) = Chunks.Range(s.N * s.C, chunk, chunks);
            float* plane = Scratch.Get((long)g.Hp * g.Wp);
            for (int q = a; q < b; q++)
            {
                int j = q / s.C, c = q % s.C;
                Pad(s, g, X + ((long)j * s.C + c) * s.H * s.W, plane);
                InputTransform(g, plane, V + (long)c * T + (long)j * g.TilesPerImage, T * s.C);
            }
        }
    }

    sealed class OutputPhase : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* M, Bias, Y;
        public long T;
        public bool Relu, Pool;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            var (a, b) = Chunks.Range(s.N * s.O, chunk, chunks);
            float* tmp = Scratch.Get(16);
            for (int q = a; q < b; q++)
            {
                int j = q / s.O, o = q % s.O;
                OutputPlane(s, g, M + (long)o * T + (long)j * g.TilesPerImage, T * s.O, Y, j, o, Bias, tmp, Relu, Pool);
            }
        }
    }

    sealed class ForwardJob : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* X, U, Bias, Y;
        public bool Relu, Pool;
        public Gemm.Packed[]? PackedU;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            var (g0, g1) = Chunks.Range((s.N + g.Nb - 1) / g.Nb, chunk, chunks);
            long t = (long)g.Nb * g.TilesPerImage;
            long planeSize = (long)g.Hp * g.Wp;
            // The transformed inputs, their products with the filters, a padded plane, and 16 floats
            // for the output's last partial row group.
            float* v = Scratch.Get(16 * (s.C + s.O) * t + planeSize + 16);
            float* m = v + 16 * s.C * t;
            float* plane = m + 16 * s.O * t;
            float* outp = plane + planeSize;
            for (int grp = g0; grp < g1; grp++)
            {
                int n0 = grp * g.Nb, nImg = Math.Min(g.Nb, s.N - n0);
                int tiles = nImg * g.TilesPerImage;
                for (int j = 0; j < nImg; j++)
                    for (int c = 0; c < s.C; c++)
                    {
                        Pad(s, g, X + ((long)(n0 + j) * s.C + c) * s.H * s.W, plane);
                        InputTransform(g, plane, v + (long)c * t + (long)j * g.TilesPerImage, t * s.C);
                    }
                Products(s, U, PackedU, v, m, tiles, t);
                for (int j = 0; j < nImg; j++)
                    for (int o = 0; o < s.O; o++)
                        OutputPlane(s, g, m + (long)o * t + (long)j * g.TilesPerImage, t * s.O, Y, n0 + j, o, Bias, outp, Relu, Pool);
            }
        }
    }

    // ---- small maps side by side (inference) ----------------------------------------------

    /// <summary>
    /// How many images of a map too narrow for the tiles' rows (7 x 7: 4 tiles a row, rounded up to 8) to lay
    /// side by side, each followed by one zero column, so that the row of images fills whole groups of 8
    /// tiles: 2 for 7-wide maps (15 columns, 8 tiles). The zero column is the right padding of one image and
    /// the left padding of the next, so each image's outputs are exactly its own convolution's; the outputs at
    /// the zero columns are dropped. 0 when the shape does not qualify (3 x 3, stride 1, padding 1, a map
    /// narrower than 13, and the side-by-side shape accepted with at least k images to place).
    /// </summary>
    public static int SideBySide(in ConvShape s)
    {
        if (s.PH != 1 || s.PW != 1 || s.OW >= 13 || s.W < 1) return 0;
        // The fewest images whose row (each image and its zero column) is whole groups of 8 two-wide tiles, and at least 13 wide.
        int stride = s.W + 1, k = 2;
        while ((k * stride) % 16 != 0 || k * stride - 1 < 13) k++;
        return k <= 8 && s.N >= k && Accepts(Virtual(s, k)) ? k : 0;
    }

    /// <summary>The shape of the batch with <paramref name="k"/> images a row (<see cref="SideBySide"/>).</summary>
    public static ConvShape Virtual(in ConvShape s, int k) =>
        s with { N = (s.N + k - 1) / k, W = k * (s.W + 1) - 1 };

    /// <summary>x (N, C, H, W) into xv (the virtual shape's N, C, H, k (W + 1) − 1): image n at row group n / k, columns from (n mod k)(W + 1), zeros between.</summary>
    public static void PlaceSideBySide(in ConvShape s, int k, float[] x, float[] xv)
    {
        var v = Virtual(s, k);
        int w = s.W, wv = v.W;
        xv.AsSpan(0, v.N * v.C * v.H * wv).Clear();
        for (int n = 0; n < s.N; n++)
            for (int c = 0; c < s.C; c++)
                for (int r = 0; r < s.H; r++)
                    x.AsSpan(((n * s.C + c) * s.H + r) * w, w).CopyTo(xv.AsSpan((((n / k) * s.C + c) * s.H + r) * wv + (n % k) * (w + 1), w));
    }

    /// <summary>The outputs of each image out of the virtual batch's (the inverse of <see cref="PlaceSideBySide"/> on the outputs).</summary>
    public static void TakeSideBySide(in ConvShape s, int k, float[] yv, float[] y)
    {
        var v = Virtual(s, k);
        int ow = s.OW, owv = v.OW, oh = s.OH;
        for (int n = 0; n < s.N; n++)
            for (int o = 0; o < s.O; o++)
                for (int r = 0; r < oh; r++)
                    yv.AsSpan((((n / k) * s.O + o) * oh + r) * owv + (n % k) * (s.W + 1), ow).CopyTo(y.AsSpan(((n * s.O + o) * oh + r) * ow, ow));
    }

    /// <summary>The 16 matrices U_xi (O x C) of transformed filters, packed once for the GEMM (an inference model's).</summary>
    public static Gemm.Packed[] PackTransformed(in ConvShape s, float[] u)
    {
        var packs = new Gemm.Packed[16];
        fixed (float* pu = u)
            for (int xi = 0; xi < 16; xi++) packs[xi] = Gemm.Prepack(true, false, s.O, s.C, pu + (long)xi * s.O * s.C, s.C);
        return packs;
    }

    // ---- tiles as rows (a single small image, inference) -------------------------------------

    /// <summary>
    /// Whether <see cref="ForwardTilesAsRows"/> takes this convolution: 3x3, stride 1, no dilation or groups,
    /// channels enough, output channels a multiple of 8 (the output transform's vectors), and at most
    /// <paramref name="maxTiles"/> tiles over the batch.
    /// </summary>
    public static bool AcceptsTilesAsRows(in ConvShape s, int maxTiles) =>
        Enabled && Avx2.IsSupported && Fma.IsSupported && s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 && s.DH == 1 && s.DW == 1
        && s.G == 1 && s.PH == s.PW && s.PH <= 2 && s.OH >= 1 && s.OW >= 1 && s.C >= MinChannels && s.O >= MinChannels && s.O % 8 == 0
        && (long)s.N * ((s.OH + 1) / 2) * ((s.OW + 1) / 2) <= maxTiles;

    /// <summary>
    /// The most tiles for which a prepared convolution takes <see cref="ForwardTilesAsRows"/>. Measured alone with the
    /// filters packed (ms, 2 cores): 512 channels on 7 x 7, against side by side or, for one image, the transposed
    /// im2col product: batch 1 1.84 -> 1.03, batch 2 3.23 -> 2.26, batch 4 6.23 -> 3.90, but batch 8 (128 tiles)
    /// 6.86 -> 8.17; 256 channels on one 14 x 14 image (49 tiles) 0.85 -> 0.81 against the tiles as columns, two
    /// images 1.59 -> 1.67.
    /// </summary>
    internal const int RowsMaxTiles = 64;

    /// <summary>The 16 matrices U_xi^T (C x O), packed once as the GEMM's B for <see cref="ForwardTilesAsRows"/>.</summary>
    public static Gemm.Packed[] PackTransformedAsB(in ConvShape s, float[] u)
    {
        var packs = new Gemm.Packed[16];
        fixed (float* pu = u)
            for (int xi = 0; xi < 16; xi++) packs[xi] = Gemm.Prepack(false, true, s.C, s.O, pu + (long)xi * s.O * s.C, s.C);
        return packs;
    }

    /// <summary>
    /// The forward pass of a batch with few tiles (one 7 x 7 or 14 x 14 image) with the tiles as the GEMM's rows:
    /// M_xi^T (tiles x O) = V_xi^T (tiles x C) . U_xi^T (C x O), U_xi^T packed once as B
    /// (<see cref="PackTransformedAsB"/>). Where the products with the tiles as columns give the GEMM 16 or 56
    /// columns (half of one 32-wide micro-tile for a 7 x 7 image), the tiles as rows fill whole 8-row micro-tiles,
    /// and the valid tiles are kept alone (a 7 x 7 image's 16, not its row-rounded 32). Two phases on every core:
    /// the input transform split over channels, then the 16 products and the output transform split over output
    /// channels, each chunk transforming the channels it multiplied, with no wait between. Each output is the
    /// same sums as <see cref="ForwardTransformed"/> computes, in the same order.
    /// </summary>
    public static void ForwardTilesAsRows(in ConvShape s, float[] x, Gemm.Packed[] packedUT, float[]? bias, float[] y, bool relu)
    {
        var g = GeoOf(s) with { Nb = s.N };
        int rows = s.N * g.TH * g.TW;
        float* v = Scratch.GetSecond(16L * rows * (s.C + s.O));
        float* m = v + 16L * s.C * rows;
        int threads = Threading.NumThreads, nr = Gemm.Shape(Gemm.Selected).Nr, panels = (s.O + nr - 1) / nr;
        fixed (float* px = x, py = y)
        fixed (float* pb = bias)
        {
            var input = new RowsInputPhase { S = s, G = g, X = px, V = v, Rows = rows };
            WorkerPool.Run(input, Math.Min(s.N * s.C, 4 * threads), threads);
            var products = new RowsProductPhase { S = s, G = g, V = v, M = m, Rows = rows, PackedUT = packedUT, Bias = pb, Y = py, Relu = relu };
            WorkerPool.Run(products, Math.Min(panels, 2 * threads), threads);
        }
    }

    /// <summary>V_xi (C x tiles) of every image and channel, the valid tiles only (row ty of image j at j TH TW + ty TW).</summary>
    sealed class RowsInputPhase : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* X, V;
        public int Rows;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            var (a, b) = Chunks.Range(s.N * s.C, chunk, chunks);
            long planeSize = (long)g.Hp * g.Wp, tiles = g.TilesPerImage;
            float* plane = Scratch.Get(planeSize + 16 * tiles);
            float* t = plane + planeSize;
            for (int q = a; q < b; q++)
            {
                int j = q / s.C, c = q % s.C;
                Pad(s, g, X + ((long)j * s.C + c) * s.H * s.W, plane);
                InputTransform(g, plane, t, tiles);
                for (int xi = 0; xi < 16; xi++)
                    for (int ty = 0; ty < g.TH; ty++)
                        new ReadOnlySpan<float>(t + xi * tiles + (long)ty * g.TWr, g.TW)
                            .CopyTo(new Span<float>(V + ((long)xi * s.C + c) * Rows + ((long)j * g.TH + ty) * g.TW, g.TW));
            }
        }
    }

    /// <summary>The 16 products for a range of output channels, then their output transform, 8 channels a vector.</summary>
    sealed class RowsProductPhase : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* V, M, Bias, Y;
        public int Rows;
        public Gemm.Packed[] PackedUT = [];
        public bool Relu;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            int nr = Gemm.Shape(Gemm.Selected).Nr, rows = Rows;
            var (p0, p1) = Chunks.Range((s.O + nr - 1) / nr, chunk, chunks);
            int o0 = p0 * nr, o1 = Math.Min(s.O, p1 * nr);
            if (o1 <= o0) return;
            long xiStride = (long)rows * s.O;
            for (int xi = 0; xi < 16; xi++)
                Gemm.RunColumns(PackedUT[xi], true, rows, 1f, V + (long)xi * s.C * rows, rows, 0f, M + xi * xiStride, s.O, o0, o1);
            var floor = Vector256.Create(Relu ? 0f : float.NegativeInfinity);
            float* lanes = stackalloc float[4 * 8];
            long plane = (long)s.OH * s.OW;
            for (int o = o0; o < o1; o += 8)
            {
                var vb = Bias == null ? Vector256<float>.Zero : Vector256.Load(Bias + o);
                for (int j = 0; j < s.N; j++)
                {
                    float* yj = Y + ((long)j * s.O + o) * plane;
                    for (int ty = 0; ty < g.TH; ty++)
                        for (int tx = 0; tx < g.TW; tx++)
                        {
                            long at = (((long)j * g.TH + ty) * g.TW + tx) * s.O + o;
                            var (e0, od0, e1, od1) = Tiles(M, xiStride, at);
                            Vector256.Max(e0 + vb, floor).Store(lanes);
                            Vector256.Max(od0 + vb, floor).Store(lanes + 8);
                            Vector256.Max(e1 + vb, floor).Store(lanes + 16);
                            Vector256.Max(od1 + vb, floor).Store(lanes + 24);
                            int r1 = Math.Min(2, s.OH - 2 * ty), c1 = Math.Min(2, s.OW - 2 * tx);
                            for (int r = 0; r < r1; r++)
                                for (int cc = 0; cc < c1; cc++)
                                {
                                    float* src = lanes + (2 * r + cc) * 8;
                                    float* dst = yj + (long)(2 * ty + r) * s.OW + 2 * tx + cc;
                                    for (int l = 0; l < 8; l++) dst[l * plane] = src[l];
                                }
                        }
                }
            }
        }
    }

    // ---- backward --------------------------------------------------------------------------

    /// <summary>dx, dw, db overwritten where not null (db is computed by the caller's path when null here).</summary>
    public static void Backward(in ConvShape s, float[] x, float[] w, float[] dy, float[]? dx, float[]? dw, float[]? db)
    {
        var g = GeoOf(s);
        var u = FilterTransform(s, w);
        int groups = (s.N + g.Nb - 1) / g.Nb, chunks = Math.Min(groups, MaxChunks);
        long du = 16L * s.O * s.C, part = du + s.O;
        var partials = t_partials is { } a && a.Length >= chunks * part + du ? a : t_partials = new float[chunks * part + du];
        fixed (float* px = x, pu = u, pdy = dy, pdx = dx, ppart = partials)
        {
            var job = new BackwardJob
            {
                S = s, G = g, X = px, U = pu, Dy = pdy, Dx = pdx, Partials = ppart, PartialSize = part,
                WantW = dw is not null, WantB = db is not null,
            };
            WorkerPool.Run(job, chunks, Threading.NumThreads);
        }
        if (dw is not null)
        {
            // The chunks' sums in chunk order, into the spare space after the partials.
            var sum = partials.AsSpan((int)(chunks * part), (int)du);
            Chunks.SumInOrder(partials, part, 0, (int)du, chunks, sum);
            FilterGradient(s, sum, dw);
        }
        if (db is not null) Chunks.SumInOrder(partials, part, du, s.O, chunks, db);
    }

    sealed class BackwardJob : IParallelJob
    {
        public ConvShape S;
        public Geo G;
        public float* X, U, Dy, Dx, Partials;
        public long PartialSize;
        public bool WantW, WantB;

        public void RunChunk(int chunk, int chunks)
        {
            var s = S;
            var g = G;
            var (g0, g1) = Chunks.Range((s.N + g.Nb - 1) / g.Nb, chunk, chunks);
            long t = (long)g.Nb * g.TilesPerImage;
            long planeSize = (long)g.Hp * g.Wp, outPlane = 2L * g.TH * 2 * g.TWr;
            float* dU = Partials + chunk * PartialSize;
            float* dB = dU + 16L * s.O * s.C;
            new Span<float>(dU, (int)PartialSize).Clear();
            // V (for dW), dM, dV (for dX), the padded plane and the padded output-gradient plane.
            float* v = Scratch.Get(16 * (2L * s.C + s.O) * t + planeSize + outPlane);
            float* dm = v + 16 * s.C * t;
            float* dv = dm + 16 * s.O * t;
            float* plane = dv + 16 * s.C * t;
            float* gplane = plane + planeSize;
            for (int grp = g0; grp < g1; grp++)
            {
                int n0 = grp * g.Nb, nImg = Math.Min(g.Nb, s.N - n0);
                int tiles = nImg * g.TilesPerImage;
                for (int j = 0; j < nImg; j++)
                    for (int o = 0; o < s.O; o++)
                    {
                        float* dyo = Dy + ((long)(n0 + j) * s.O + o) * s.OH * s.OW;
                        if (WantB) dB[o] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyo, s.OH * s.OW));
                        PadGradient(s, g, dyo, gplane);
                        GradientTransform(g, gplane, dm + (long)o * t + (long)j * g.TilesPerImage, t * s.O);
                    }
                if (WantW)
                {
                    for (int j = 0; j < nImg; j++)
                        for (int c = 0; c < s.C; c++)
                        {
                            Pad(s, g, X + ((long)(n0 + j) * s.C + c) * s.H * s.W, plane);
                            InputTransform(g, plane, v + (long)c * t + (long)j * g.TilesPerImage, t * s.C);
                        }
                    // dU_xi (O x C) += dM_xi (O x tiles) . V_xi^T (tiles x C)
                    for (int xi = 0; xi < 16; xi++)
                        Gemm.Run(false, true, s.O, s.C, tiles, 1f, dm + xi * s.O * t, (int)t, v + xi * s.C * t, (int)t, 1f, dU + (long)xi * s.O * s.C, s.C);
                }
                if (Dx == null) continue;
                // dV_xi (C x tiles) = U_xi^T (C x O) . dM_xi (O x tiles)
                for (int xi = 0; xi < 16; xi++)
                    Gemm.Run(true, false, s.C, tiles, s.O, 1f, U + (long)xi * s.O * s.C, s.C, dm + xi * s.O * t, (int)t, 0f, dv + xi * s.C * t, (int)t);
                for (int j = 0; j < nImg; j++)
                    for (int c = 0; c < s.C; c++)
                    {
                        new Span<float>(plane, (int)planeSize).Clear();
                        InputGradientTransform(g, dv + (long)c * t + (long)j * g.TilesPerImage, t * s.C, plane);
                        float* dxc = Dx + ((long)(n0 + j) * s.C + c) * s.H * s.W;
                        for (int r = 0; r < s.H; r++)
                            new ReadOnlySpan<float>(plane + (long)(r + s.PH) * g.Wp + s.PW, s.W).CopyTo(new Span<float>(dxc + (long)r * s.W, s.W));
                    }
            }
        }
    }

    // ---- filter transforms -----------------------------------------------------------------

    [ThreadStatic] static float[]? t_filters, t_partials;

    /// <summary>The filters' Winograd transform in an array of its own (to keep), as <see cref="ForwardTransformed"/> takes it.</summary>
    public static float[] TransformFilters(in ConvShape s, float[] w) => FilterTransform(s, w, new float[16 * s.O * s.C]);

    /// <summary>U[xi][o][c] = (G g G^T)[xi] for every filter, into <paramref name="into"/>, or into a reused per-thread array.</summary>
    static float[] FilterTransform(in ConvShape s, float[] w, float[]? into = null)
    {
        int size = 16 * s.O * s.C;
        var u = into ?? (t_filters is { } a && a.Length >= size ? a : t_filters = new float[size]);
        Span<float> gg = stackalloc float[12];
        for (int o = 0; o < s.O; o++)
            for (int c = 0; c < s.C; c++)
            {
                int k = (o * s.C + c) * 9;
                // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2
                for (int j = 0; j < 3; j++)
                {
                    float a0 = w[k + j], a1 = w[k + 3 + j], a2 = w[k + 6 + j];
                    gg[j] = a0;
                    gg[3 + j] = 0.5f * (a0 + a1 + a2);
                    gg[6 + j] = 0.5f * (a0 - a1 + a2);
                    gg[9 + j] = a2;
                }
                for (int i = 0; i < 4; i++)
                {
                    float a0 = gg[3 * i], a1 = gg[3 * i + 1], a2 = gg[3 * i + 2];
                    int oc = o * s.C + c;
                    u[(4 * i + 0) * s.O * s.C + oc] = a0;
                    u[(4 * i + 1) * s.O * s.C + oc] = 0.5f * (a0 + a1 + a2);
                    u[(4 * i + 2) * s.O * s.C + oc] = 0.5f * (a0 - a1 + a2);
                    u[(4 * i + 3) * s.O * s.C + oc] = a2;
                }
            }
        return u;
    }

    /// <summary>dW[o][c] = G^T dU G, the adjoint of <see cref="FilterTransform"/>.</summary>
    static void FilterGradient(in ConvShape s, ReadOnlySpan<float> du, float[] dw)
    {
        int oc = s.O * s.C;
        Span<float> t = stackalloc float[12];
        for (int o = 0; o < s.O; o++)
            for (int c = 0; c < s.C; c++)
            {
                int idx = o * s.C + c;
                // G^T dU: rows dU0 + (dU1 + dU2) / 2, (dU1 - dU2) / 2, (dU1 + dU2) / 2 + dU3
                for (int j = 0; j < 4; j++)
                {
                    float d0 = du[(0 + j) * oc + idx], d1 = du[(4 + j) * oc + idx], d2 = du[(8 + j) * oc + idx], d3 = du[(12 + j) * oc + idx];
                    t[j] = d0 + 0.5f * (d1 + d2);
                    t[4 + j] = 0.5f * (d1 - d2);
                    t[8 + j] = 0.5f * (d1 + d2) + d3;
                }
                int k = idx * 9;
                for (int i = 0; i < 3; i++)
                {
                    float w0 = t[4 * i], w1 = t[4 * i + 1], w2 = t[4 * i + 2], w3 = t[4 * i + 3];
                    dw[k + 3 * i] = w0 + 0.5f * (w1 + w2);
                    dw[k + 3 * i + 1] = 0.5f * (w1 - w2);
                    dw[k + 3 * i + 2] = 0.5f * (w1 + w2) + w3;
                }
            }
    }

    // ---- tile transforms (eight tiles per vector) -------------------------------------------

    /// <summary>Copies an H x W plane into the zero-padded Hp x Wp scratch plane at offset (pad, pad).</summary>
    static void Pad(in ConvShape s, in Geo g, float* src, float* plane)
    {
        new Span<float>(plane, g.Hp * g.Wp).Clear();
        for (int r = 0; r < s.H; r++)
            new ReadOnlySpan<float>(src + (long)r * s.W, s.W).CopyTo(new Span<float>(plane + (long)(r + s.PH) * g.Wp + s.PW, s.W));
    }

    /// <summary>Copies an OH x OW output-gradient plane into a zeroed (2 TH) x (2 TWr) plane.</summary>
    static void PadGradient(in ConvShape s, in Geo g, float* src, float* plane)
    {
        int w2 = 2 * g.TWr;
        new Span<float>(plane, 2 * g.TH * w2).Clear();
        for (int r = 0; r < s.OH; r++)
            new ReadOnlySpan<float>(src + (long)r * s.OW, s.OW).CopyTo(new Span<float>(plane + (long)r * w2, s.OW));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Even(float* p) =>
        Avx2.Permute4x64(Avx.Shuffle(Avx.LoadVector256(p), Avx.LoadVector256(p + 8), 0x88).AsDouble(), 0xD8).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Odd(float* p) =>
        Avx2.Permute4x64(Avx.Shuffle(Avx.LoadVector256(p), Avx.LoadVector256(p + 8), 0xDD).AsDouble(), 0xD8).AsSingle();

    /// <summary>
    /// V = B^T d B for every tile of a padded plane; tile (ty, tx) of the 16 matrices goes to
    /// v[xi * xiStride + ty * TWr + tx].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void InputTransform(in Geo g, float* plane, float* v, long xiStride)
    {
        var w1 = stackalloc Vector256<float>[16];
        for (int ty = 0; ty < g.TH; ty++)
            for (int tx = 0; tx < g.TWr; tx += 8)
            {
                for (int r = 0; r < 4; r++)
                {
                    float* p = plane + (long)(2 * ty + r) * g.Wp + 2 * tx;
                    Vector256<float> d0 = Even(p), d1 = Odd(p), d2 = Even(p + 2), d3 = Odd(p + 2);
                    // d B: d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    w1[4 * r] = d0 - d2;
                    w1[4 * r + 1] = d1 + d2;
                    w1[4 * r + 2] = d2 - d1;
                    w1[4 * r + 3] = d1 - d3;
                }
                long at = (long)ty * g.TWr + tx;
                for (int j = 0; j < 4; j++)
                {
                    // B^T (d B): rows 0 - 2, 1 + 2, 2 - 1, 1 - 3
                    (w1[j] - w1[8 + j]).Store(v + (0 + j) * xiStride + at);
                    (w1[4 + j] + w1[8 + j]).Store(v + (4 + j) * xiStride + at);
                    (w1[8 + j] - w1[4 + j]).Store(v + (8 + j) * xiStride + at);
                    (w1[4 + j] - w1[12 + j]).Store(v + (12 + j) * xiStride + at);
                }
            }
    }

    /// <summary>
    /// Y = A^T M A + bias for every tile, written straight into the OH x OW output plane: a tile
    /// group's 16 columns are stored whole where the plane goes on past them (the excess lands at
    /// the start of the next row, which is written later), and through a small buffer at the
    /// plane's end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void OutputTransform(in ConvShape s, in Geo g, float* m, long xiStride, float* y, float bias, float* tmp, bool relu = false)
    {
        var vb = Vector256.Create(bias);
        // With relu, max(·, floor) where floor is 0; without, the floor is -inf and changes nothing.
        var floor = Vector256.Create(relu ? 0f : float.NegativeInfinity);
        float* end = y + (long)s.OH * s.OW;
        int lastGroup = (s.OW - 1) / 16 * 8;
        for (int ty = 0; ty < g.TH; ty++)
            // Right to left, so a group's excess columns (which land at the start of the next row)
            // are overwritten by that row's first group, written later.
            for (int tx = lastGroup; tx >= 0; tx -= 8)
            {
                long at = (long)ty * g.TWr + tx;
                var (e0, o0, e1, o1) = Tiles(m, xiStride, at);
                int cols = Math.Min(16, s.OW - 2 * tx);
                for (int r = 0; r < 2 && 2 * ty + r < s.OH; r++)
                {
                    var e = r == 0 ? e0 : e1;
                    var o = r == 0 ? o0 : o1;
                    float* dst = y + (long)(2 * ty + r) * s.OW + 2 * tx;
                    var ev = Vector256.Max(e + vb, floor);
                    var ov = Vector256.Max(o + vb, floor);
                    if (dst + 16 <= end) StorePairs(ev, ov, dst);
                    else
                    {
                        StorePairs(ev, ov, tmp);
                        for (int q = 0; q < cols; q++) dst[q] = tmp[q];
                    }
                }
            }
    }

    /// <summary>
    /// Y = A^T M A for 8 consecutive tiles from column <paramref name="at"/> of the 16 products: each tile's
    /// 2x2 output as its even and odd columns of row 0 and row 1, one lane per tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float> E0, Vector256<float> O0, Vector256<float> E1, Vector256<float> O1) Tiles(float* m, long xiStride, long at)
    {
        Vector256<float> t00 = default, t01 = default, t02 = default, t03 = default;
        Vector256<float> t10 = default, t11 = default, t12 = default, t13 = default;
        for (int j = 0; j < 4; j++)
        {
            var m0 = Vector256.Load(m + (0 + j) * xiStride + at);
            var m1 = Vector256.Load(m + (4 + j) * xiStride + at);
            var m2 = Vector256.Load(m + (8 + j) * xiStride + at);
            var m3 = Vector256.Load(m + (12 + j) * xiStride + at);
            // A^T M: rows m0 + m1 + m2, m1 - m2 - m3
            var a = m0 + m1 + m2;
            var b = m1 - m2 - m3;
            switch (j)
            {
                case 0: t00 = a; t10 = b; break;
                case 1: t01 = a; t11 = b; break;
                case 2: t02 = a; t12 = b; break;
                default: t03 = a; t13 = b; break;
            }
        }
        // (A^T M) A: columns t0 + t1 + t2, t1 - t2 - t3
        return (t00 + t01 + t02, t01 - t02 - t03, t10 + t11 + t12, t11 - t12 - t13);
    }

    static long PooledPlane(in ConvShape s) => (long)(s.OH / 2) * (s.OW / 2);

    /// <summary>
    /// The output transform with 2x2 stride-2 max pooling: each Winograd tile is exactly one 2x2 pooling
    /// window, so the pooled value is the maximum of the tile's four outputs (plus the bias, then the ReLU,
    /// which both commute with the maximum); the convolution's own output is never written. Writes the
    /// (OH / 2) x (OW / 2) plane at <paramref name="y"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void OutputTransformPooled(in ConvShape s, in Geo g, float* m, long xiStride, float* y, float bias, float* tmp, bool relu)
    {
        var vb = Vector256.Create(bias);
        var floor = Vector256.Create(relu ? 0f : float.NegativeInfinity);
        int ph = s.OH / 2, pw = s.OW / 2;
        for (int ty = 0; ty < ph; ty++)
            for (int tx = 0; tx < pw; tx += 8)
            {
                long at = (long)ty * g.TWr + tx;
                var (e0, o0, e1, o1) = Tiles(m, xiStride, at);
                var pooled = Vector256.Max(Vector256.Max(Vector256.Max(e0, o0), Vector256.Max(e1, o1)) + vb, floor);
                float* dst = y + (long)ty * pw + tx;
                int cols = Math.Min(8, pw - tx);
                if (cols == 8) pooled.Store(dst);
                else
                {
                    pooled.Store(tmp);
                    for (int q = 0; q < cols; q++) dst[q] = tmp[q];
                }
            }
    }

    /// <summary>Interleaves (a0 b0 a1 b1 ... a7 b7) into 16 consecutive floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StorePairs(Vector256<float> a, Vector256<float> b, float* dst)
    {
        var lo = Avx.UnpackLow(a, b);
        var hi = Avx.UnpackHigh(a, b);
        Avx.Store(dst, Avx.Permute2x128(lo, hi, 0x20));
        Avx.Store(dst + 8, Avx.Permute2x128(lo, hi, 0x31));
    }

    /// <summary>Adds the interleaving of a and b to 16 consecutive floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddPairs(Vector256<float> a, Vector256<float> b, float* dst)
    {
        var lo = Avx.UnpackLow(a, b);
        var hi = Avx.UnpackHigh(a, b);
        Avx.Store(dst, Avx.Add(Avx.LoadVector256(dst), Avx.Permute2x128(lo, hi, 0x20)));
        Avx.Store(dst + 8, Avx.Add(Avx.LoadVector256(dst + 8), Avx.Permute2x128(lo, hi, 0x31)));
    }

    /// <summary>dM = A dY A^T for every tile of a (2 TH) x (2 TWr) output-gradient plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void GradientTransform(in Geo g, float* gplane, float* dm, long xiStride)
    {
        int w2 = 2 * g.TWr;
        for (int ty = 0; ty < g.TH; ty++)
            for (int tx = 0; tx < g.TWr; tx += 8)
            {
                float* r0 = gplane + (long)(2 * ty) * w2 + 2 * tx;
                float* r1 = r0 + w2;
                Vector256<float> g00 = Even(r0), g01 = Odd(r0), g10 = Even(r1), g11 = Odd(r1);
                long at = (long)ty * g.TWr + tx;
                // A dY: rows (g0), (g0 + g1), (g0 - g1), (-g1), per column
                Span<Vector256<float>> rows = [g00, g01, g00 + g10, g01 + g11, g00 - g10, g01 - g11, -g10, -g11];
                for (int i = 0; i < 4; i++)
                {
                    var u0 = rows[2 * i];
                    var u1 = rows[2 * i + 1];
                    // (A dY) A^T: u0, u0 + u1, u0 - u1, -u1
                    u0.Store(dm + (4 * i + 0) * xiStride + at);
                    (u0 + u1).Store(dm + (4 * i + 1) * xiStride + at);
                    (u0 - u1).Store(dm + (4 * i + 2) * xiStride + at);
                    (-u1).Store(dm + (4 * i + 3) * xiStride + at);
                }
            }
    }

    /// <summary>dd = B dV B^T for every tile, added into the padded plane (tiles overlap by two).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void InputGradientTransform(in Geo g, float* dv, long xiStride, float* plane)
    {
        var w = stackalloc Vector256<float>[16];
        for (int ty = 0; ty < g.TH; ty++)
            for (int tx = 0; tx < g.TWr; tx += 8)
            {
                long at = (long)ty * g.TWr + tx;
                for (int j = 0; j < 4; j++)
                {
                    var v0 = Vector256.Load(dv + (0 + j) * xiStride + at);
                    var v1 = Vector256.Load(dv + (4 + j) * xiStride + at);
                    var v2 = Vector256.Load(dv + (8 + j) * xiStride + at);
                    var v3 = Vector256.Load(dv + (12 + j) * xiStride + at);
                    // B dV: rows v0, v1 - v2 + v3, -v0 + v1 + v2, -v3
                    w[j] = v0;
                    w[4 + j] = v1 - v2 + v3;
                    w[8 + j] = v1 + v2 - v0;
                    w[12 + j] = -v3;
                }
                for (int r = 0; r < 4; r++)
                {
                    Vector256<float> a0 = w[4 * r], a1 = w[4 * r + 1], a2 = w[4 * r + 2], a3 = w[4 * r + 3];
                    // (B dV) B^T: a0, a1 - a2 + a3, -a0 + a1 + a2, -a3 at columns 2tx + 0, 1, 2, 3
                    float* row = plane + (long)(2 * ty + r) * g.Wp + 2 * tx;
                    AddPairs(a0, a1 - a2 + a3, row);
                    AddPairs(a1 + a2 - a0, -a3, row + 2);
                }
            }
    }
}
