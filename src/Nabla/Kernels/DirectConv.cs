using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Direct convolution for inference, split the way ONNX Runtime's MLAS splits its NCHWc convolution:
/// one parallel job per layer, each thread a contiguous range of (block of output channels, image,
/// output row), computing its outputs straight from the input into registers, with no intermediate
/// buffer beside a zero-padded copy of the input. A kernel holds P pixels of an output row times
/// 32 or 64 output channels in registers (<see cref="Kernel"/>), broadcasting each input value against
/// a vector of 16 output channels' weights, so any stride, width or channel count fills it.
/// </summary>
/// <remarks>
/// <para>
/// Winograd's F(2x2, 3x3) does 2.25x fewer multiplications, but hands its transformed input and products
/// between the cores through buffers several times the activation's size. When the host puts the two
/// cores on different caches, each hand-over costs about three times as much (docs/performance.md, "Where
/// the two cores are"), and a direct convolution, which reads only the previous layer's output once,
/// keeps its speed.
/// </para>
/// <para>
/// The weights are packed once (<see cref="Pack"/>) as [output block][input channel][tap][NV x 16]. With
/// many input channels they are taken in slices of at most <see cref="SliceBytes"/> bytes, so a slice stays
/// in the core's L2 cache while every row of the range uses it; the partial sums wait in per-thread
/// scratch memory between slices. Every output is one fused multiply-add per (input channel, tap) in
/// increasing order, then the bias, then ReLU, so results do not depend on the thread count or tiling.
/// </para>
/// </remarks>
internal static unsafe partial class DirectConv
{
    /// <summary>Off with NABLA_DIRECT=0 (then Winograd or im2col + GEMM run as before).</summary>
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("NABLA_DIRECT") != "0";

    /// <summary>Pixels of a row per kernel call with 32 output channels.</summary>
    internal const int MaxPixels = 14;

    /// <summary>The most weight bytes per input-channel slice, so that a slice stays in L2 across rows.</summary>
    internal static int SliceBytes { get; set; } = 160 * 1024;

    /// <summary>
    /// Whether the direct kernels compute this convolution: one group, no dilation, the same stride (1 or 2)
    /// both ways, output channels a multiple of 32, and a padded input at least as large as the kernel.
    /// </summary>
    public static bool Accepts(in ConvShape s) =>
        s.G == 1 && s.DH == 1 && s.DW == 1 && s.SH == s.SW && s.SH is 1 or 2 && s.O % 32 == 0
        && s.H + 2 * s.PH >= s.KH && s.W + 2 * s.PW >= s.KW;

    /// <summary>The largest batch whose 3x3 stride-1 convolutions run directly while the cores are apart (larger ones split over images).</summary>
    internal const int MaxBatch = 4;

    /// <summary>
    /// Whether the inference path computes this convolution directly: strided and 1x1 convolutions at any
    /// batch (faster than im2col + GEMM wherever the cores are: ResNet-18 +3.4% at batch 1 and +1.7-3.2% at
    /// batch 32 with the cores together, ResNet-8 level at batch 256), other shapes at batches up to
    /// <see cref="MaxBatch"/> only while the cores are apart (<see cref="CorePlacement"/>); with them
    /// together, Winograd's fewer multiplications win.
    /// </summary>
    public static bool Chooses(in ConvShape s) =>
        Enabled && Vector512.IsHardwareAccelerated && Accepts(s)
        && (s.SH == 2 || (s.KH == 1 && s.KW == 1) || (s.N <= MaxBatch && CorePlacement.Apart));

    /// <summary>Vectors of 16 output channels per kernel: 4 for rows of at most 7 pixels (64 channels at a time), else 2.</summary>
    public static int Vectors(in ConvShape s) => s.OW <= 7 && s.O % 64 == 0 ? 4 : 2;

    /// <summary>Pixels per kernel call along a row of <paramref name="ow"/>: the row in equal parts of at most the kernel's limit.</summary>
    internal static int Pixels(int ow, int nv)
    {
        int max = nv == 4 ? 7 : MaxPixels, parts = (ow + max - 1) / max;
        return (ow + parts - 1) / parts;
    }

    /// <summary>Input channels per slice: all of them, or equal slices of at most <see cref="SliceBytes"/> of weights.</summary>
    internal static int SliceChannels(in ConvShape s, int nv)
    {
        long perChannel = (long)s.KH * s.KW * nv * 16 * sizeof(float);
        int slices = (int)Math.Max(1, (s.C * perChannel + SliceBytes - 1) / SliceBytes);
        return (s.C + slices - 1) / slices;
    }

    /// <summary>Weights (O, C, KH, KW) as [O / (16 nv)][C][KH][KW][16 nv].</summary>
    public static float[] Pack(in ConvShape s, float[] w, int nv)
    {
        int block = 16 * nv, taps = s.KH * s.KW;
        var packed = new float[s.O * s.C * taps];
        for (int o = 0; o < s.O; o++)
        {
            int ob = o / block, lane = o % block;
            for (int c = 0; c < s.C; c++)
                for (int t = 0; t < taps; t++)
                    packed[(((long)ob * s.C + c) * taps + t) * block + lane] = w[((long)o * s.C + c) * taps + t];
        }
        return packed;
    }

    /// <summary>y = conv(x, w) + bias, then ReLU when asked; <paramref name="packed"/> from <see cref="Pack"/> with <paramref name="nv"/>.</summary>
    public static void Forward(in ConvShape s, float[] x, float[] packed, int nv, float[]? bias, float[] y, bool relu) =>
        Forward(s, x, packed, nv, bias, y, relu, s.H, s.W);

    /// <summary>
    /// The same, with x's planes of <paramref name="sourceH"/> x <paramref name="sourceW"/> as the input, padded
    /// at the start by s's padding and at the end up to s's padded size (H + 2 PH): a convolution with pads
    /// that differ before and after (an ONNX Conv's 0 before and 1 after, say) is one of input size
    /// H + end - start with start's padding both sides, computed without padding x first. With a
    /// <paramref name="residual"/> (laid out as y), y = ReLU(conv(x) + bias + residual), ReLU whatever
    /// <paramref name="relu"/> says: a residual block's add and ReLU as the outputs are written.
    /// </summary>
    public static void Forward(in ConvShape s, float[] x, float[] packed, int nv, float[]? bias, float[] y, bool relu, int sourceH, int sourceW,
        float[]? residual = null)
    {
        if (!Accepts(s))
            throw new ArgumentException("DirectConv: expected one group, no dilation, equal strides of 1 or 2, output channels a multiple of 32 " +
                $"and a padded input at least the kernel's size; got {s}", nameof(s));
        if (nv is not (2 or 4) || s.O % (16 * nv) != 0)
            throw new ArgumentException($"DirectConv: expected 2 or 4 vectors of 16 that tile the {s.O} output channels; got {nv}", nameof(nv));
        if (packed.Length != s.O * s.C * s.KH * s.KW)
            throw new ArgumentException($"DirectConv: expected {s.O * s.C * s.KH * s.KW} packed weights (O C KH KW); got {packed.Length}", nameof(packed));
        long inputs = (long)s.N * s.C * sourceH * sourceW, outputs = (long)s.N * s.O * s.OH * s.OW;
        if (sourceH < 1 || sourceW < 1 || x.Length < inputs)
            throw new ArgumentException($"DirectConv: expected at least {inputs} inputs ({s.N} x {s.C} x {sourceH} x {sourceW}, sizes positive); got {x.Length}", nameof(x));
        if (y.Length < outputs) throw new ArgumentException($"DirectConv: expected room for {outputs} outputs; got {y.Length}", nameof(y));
        if (residual is not null && residual.Length < outputs)
            throw new ArgumentException($"DirectConv: expected {outputs} residual values, laid out as the output; got {residual.Length}", nameof(residual));
        if (bias is not null && bias.Length < s.O)
            throw new ArgumentException($"DirectConv: expected {s.O} biases, one per output channel; got {bias.Length}", nameof(bias));
        fixed (float* px = x, pw = packed, pb = bias, py = y, pr = residual)
        {
            var job = t_job ??= new Job();
            job.Set(s, px, sourceH, sourceW, pw, nv, pb, py, relu || residual is not null, pr);
            try
            {
                WorkerPool.Run(job, Threading.NumThreads, Threading.NumThreads);
            }
            finally
            {
                job.Clear();
            }
        }
    }

    [ThreadStatic] static Job? t_job;

    /// <summary>The most partial sums (floats) a thread keeps between input-channel slices: 256 KB, a quarter of L2.</summary>
    internal static int MaxPartialFloats { get; set; } = 64 * 1024;

    /// <summary>One layer: chunk k computes the k-th contiguous range of (output block, image, row).</summary>
    sealed class Job : IParallelJob
    {
        ConvShape _s;
        float* _x, _w, _bias, _y, _residual;
        int _nv, _pixels, _slice, _sourceH, _sourceW, _tilesPerRow;
        bool _relu;

        public void Set(in ConvShape s, float* x, int sourceH, int sourceW, float* w, int nv, float* bias, float* y, bool relu, float* residual)
        {
            _residual = residual;
            (_s, _nv, _relu, _sourceH, _sourceW) = (s, nv, relu, sourceH, sourceW);
            _x = x;
            _w = w;
            _bias = bias;
            _y = y;
            _pixels = Pixels(s.OW, nv);
            _tilesPerRow = (s.OW + _pixels - 1) / _pixels;
            _slice = SliceChannels(s, nv);
        }

        public void Clear()
        {
            _x = _w = _bias = _y = _residual = null;
        }

        public void RunChunk(int chunk, int chunks)
        {
            ref readonly var s = ref _s;
            int blocks = s.O / (16 * _nv), rows = s.N * s.OH;
            var range = new RangeState(s, _slice < s.C, _tilesPerRow * _pixels * 16 * _nv, _sourceH, _sourceW);
            long items = (long)blocks * rows;
            long i0 = items * chunk / chunks, i1 = items * (chunk + 1) / chunks;
            for (long i = i0; i < i1;)
            {
                // Rows [r0, r1) of image n and output block ob.
                int ob = (int)(i / rows);
                int q = (int)(i - (long)ob * rows);
                int n = q / s.OH, r0 = q - n * s.OH;
                int r1 = (int)Math.Min(s.OH, r0 + Math.Min(range.Span, i1 - i));
                Rows(ref range, ob, n, r0, r1);
                i += r1 - r0;
            }
        }

        /// <summary>Output rows [r0, r1) of image n and block ob: each slice of input channels over all of them.</summary>
        void Rows(ref RangeState range, int ob, int n, int r0, int r1)
        {
            ref readonly var s = ref _s;
            int block = 16 * _nv, taps = s.KH * s.KW, tile = _pixels * block;
            long planeOut = (long)s.OH * s.OW;
            bool sliced = _slice < s.C;
            // Every tile of a row has _pixels pixels but perhaps the last.
            int lastPixels = s.OW - (_tilesPerRow - 1) * _pixels;
            var kernel = Kernel(_pixels, _nv, s.SW);
            var lastKernel = Kernel(lastPixels, _nv, s.SW);
            float* bBlock = _bias == null ? null : _bias + ob * block;
            float* xImage = range.Input(s, _x, n, r0, r1, out long planeIn, out int rowStride, out int rowBase);
            long outImage = ((long)n * s.O + (long)ob * block) * planeOut;
            float* yImage = _y + outImage, rImage = _residual == null ? null : _residual + outImage;
            for (int c0 = 0; c0 < s.C; c0 += _slice)
            {
                int cc = Math.Min(_slice, s.C - c0);
                bool last = c0 + cc == s.C;
                float* wSlice = _w + ((long)ob * s.C + c0) * taps * block;
                for (int r = r0; r < r1; r++)
                {
                    float* xRow = xImage + c0 * planeIn + (long)(r * s.SH - rowBase) * rowStride;
                    float* yRow = yImage + (long)r * s.OW, rRow = rImage == null ? null : rImage + (long)r * s.OW;
                    for (int t = 0; t < _tilesPerRow; t++)
                    {
                        int ow0 = t * _pixels;
                        bool tail = t == _tilesPerRow - 1;
                        float* a = sliced ? range.Partial + ((long)(r - r0) * _tilesPerRow + t) * tile : range.Partial;
                        (tail ? lastKernel : kernel)(xRow + ow0 * s.SW, (nint)planeIn, rowStride, cc, s.KH, s.KW, wSlice, a, c0 > 0);
                        if (last) Store(a, tail ? lastPixels : _pixels, block, bBlock, _relu, yRow + ow0, planeOut, rRow == null ? null : rRow + ow0);
                    }
                }
            }
        }
    }

    /// <summary>One thread's scratch for its range: the partial sums between slices, and its own padded input rows.</summary>
    struct RangeState
    {
        /// <summary>The most output rows computed slice by slice together.</summary>
        public readonly int Span;
        public readonly float* Partial;
        readonly float* _own;
        readonly int _sourceH, _sourceW;
        int _image, _row0, _rows;

        /// <param name="s">The convolution.</param>
        /// <param name="sliced">Whether its input channels come in slices.</param>
        /// <param name="rowFloats">The partial sums of one output row of a block (its tiles).</param>
        /// <param name="sourceH">The input's rows.</param>
        /// <param name="sourceW">The input's columns.</param>
        public RangeState(in ConvShape s, bool sliced, int rowFloats, int sourceH, int sourceW)
        {
            (_sourceH, _sourceW) = (sourceH, sourceW);
            // With the input channels in slices, the partial sums of up to Span rows wait in scratch while the
            // slices go by (each slice's weights then serve all of them from L2).
            Span = sliced ? Math.Min(s.OH, Math.Max(1, MaxPartialFloats / rowFloats)) : s.OH;
            // The input rows the range reads, zero-padded, in this thread's own memory: no other pass over the
            // input, and no hand-over between the cores beyond reading the previous layer's output. Both in the
            // thread's scratch (a tile is a multiple of 16 floats, so the rows start 64-byte aligned).
            long partial = sliced ? (long)Span * rowFloats : rowFloats;
            bool padded = s.PH > 0 || s.PW > 0 || sourceH != s.H || sourceW != s.W;
            long own = padded ? (long)s.C * ((Span - 1) * s.SH + s.KH) * (s.W + 2 * s.PW) : 0;
            Partial = Scratch.Get(partial + own);
            _own = padded ? Partial + partial : null;
            _image = -1;
        }

        /// <summary>Image n's input for output rows [r0, r1): where it starts, its channel planes' size, its row stride, and the first row held.</summary>
        public float* Input(in ConvShape s, float* x, int n, int r0, int r1, out long plane, out int rowStride, out int rowBase)
        {
            float* image = x + (long)n * s.C * _sourceH * _sourceW;
            if (_own == null)
            {
                (plane, rowStride, rowBase) = ((long)s.H * s.W, s.W, 0);
                return image;
            }
            int wp = s.W + 2 * s.PW;
            // Padded rows [r0 S, (r1 - 1) S + KH), those of the output rows [r0, r1).
            int p0 = r0 * s.SH, p1 = (r1 - 1) * s.SH + s.KH;
            if (n != _image || p0 < _row0 || p1 > _row0 + _rows)
            {
                _image = n;
                _row0 = p0;
                _rows = Math.Min((Span - 1) * s.SH + s.KH, s.H + 2 * s.PH - p0);
                Pad(s, image, _sourceH, _sourceW, _own, p0, _rows);
            }
            (plane, rowStride, rowBase) = ((long)_rows * wp, wp, _row0);
            return _own;
        }
    }

    /// <summary>
    /// Rows [p0, p0 + count) of one image's zero-padded input (rows of W + 2 PW; padded row p is input row
    /// p - PH) into dst, channel after channel, from planes of sourceH x sourceW: zero past them, and what
    /// lies past the padded plane (a source larger than H x W) left out.
    /// </summary>
    static void Pad(in ConvShape s, float* x, int sourceH, int sourceW, float* dst, int p0, int count)
    {
        int wp = s.W + 2 * s.PW, cols = Math.Min(sourceW, wp - s.PW);
        for (int c = 0; c < s.C; c++)
        {
            float* src = x + (long)c * sourceH * sourceW;
            for (int p = p0; p < p0 + count; p++, dst += wp)
            {
                int i = p - s.PH;
                if (i < 0 || i >= sourceH)
                {
                    new Span<float>(dst, wp).Clear();
                    continue;
                }
                new Span<float>(dst, s.PW).Clear();
                new ReadOnlySpan<float>(src + (long)i * sourceW, cols).CopyTo(new Span<float>(dst + s.PW, cols));
                new Span<float>(dst + s.PW + cols, wp - s.PW - cols).Clear();
            }
        }
    }

    /// <summary>
    /// Writes a tile's sums acc[P][block] to P pixels of each of the block's output planes, with the bias, then
    /// the residual (laid out as y, or null), then ReLU when asked.
    /// </summary>
    internal static void Store(float* acc, int p, int block, float* bias, bool relu, float* y, long planeOut, float* residual = null)
    {
        if (!Avx512F.IsSupported)
        {
            StoreScalar(acc, p, block, bias, relu, y, planeOut, residual);
            return;
        }
        for (int v = 0; v < block; v += 16)
            Store16(acc + v, p, block, bias == null ? null : bias + v, relu, y + v * planeOut, (nint)planeOut, residual == null ? null : residual + v * planeOut);
    }

    /// <summary><see cref="Store"/> one value at a time: where AVX-512 is missing, and the tests' reference for the transposing store.</summary>
    internal static void StoreScalar(float* acc, int p, int block, float* bias, bool relu, float* y, long planeOut, float* residual = null)
    {
        for (int o = 0; o < block; o++, y += planeOut)
        {
            float b = bias == null ? 0f : bias[o];
            float* res = residual == null ? null : residual + o * planeOut;
            for (int k = 0; k < p; k++)
            {
                float v = acc[k * block + o] + b;
                if (res != null) v += res[k];
                y[k] = relu ? Math.Max(v, 0f) : v;
            }
        }
    }
}
