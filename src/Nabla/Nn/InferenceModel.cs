using System.Numerics.Tensors;
using Nabla.Kernels;

namespace Nabla.Nn;

/// <summary>
/// A model prepared once for inference (<see cref="Module.ForInference"/>): batch norm folded into the
/// convolution or linear layer before it, ReLU applied as the convolution writes its output, the
/// weights re-laid once (a convolution's Winograd filter transform, its direct kernels' blocks, or its
/// weights with the bias appended) instead of on every call, and a residual block's add and ReLU applied
/// as its second convolution writes. Its outputs equal <c>model.Eval().Forward(x)</c> up to float
/// rounding (about 1e-6 relative).
/// </summary>
/// <remarks>
/// <para>
/// Batch norm in evaluation mode is an affine map per channel, y = γ (x − μ) / √(σ² + ε) + β, so a
/// convolution or linear layer followed by it is one layer with weights W·γ/√(σ² + ε) per output
/// channel and bias (b − μ)·γ/√(σ² + ε) + β: one pass over memory less per normalization.
/// </para>
/// <para>
/// The weights are copied when the model is prepared: later changes to the source model's weights
/// are not seen (prepare again after training). Layers without a prepared form (pooling, flatten,
/// any custom module) run as the source module does in evaluation mode. Forward runs without
/// gradients and is not differentiable.
/// </para>
/// </remarks>
public sealed class InferenceModel
{
    readonly Func<Tensor, Tensor> _run;
    readonly int[] _sampleShape;

    internal InferenceModel(Module source, int[] sampleShape, Func<Tensor, Tensor> run, IReadOnlyList<string> plan)
    {
        Source = source;
        _sampleShape = sampleShape;
        _run = run;
        Plan = plan;
    }

    /// <summary>The module this was prepared from.</summary>
    public Module Source { get; }

    /// <summary>The shape of one sample (without the batch dimension) it was prepared for.</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The prepared steps in order, e.g. <c>conv2d+batchnorm+relu (folded)</c>, for a reader to see what was fused.</summary>
    public IReadOnlyList<string> Plan { get; }

    /// <summary>Runs the model on a batch of shape (N, …SampleShape).</summary>
    /// <exception cref="ShapeException">The input is not a batch of the prepared sample shape.</exception>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != _sampleShape.Length + 1 || !input.Shape[1..].SequenceEqual(_sampleShape))
            throw new ShapeException("InferenceModel", $"input of shape (N, {string.Join(", ", _sampleShape)})", input.ShapeString,
                "prepare another with ForInference for this shape");
        using var noGrad = Autograd.NoGrad();
        return _run(input);
    }
}

/// <summary>A module that prepares its own inference form (an imported ONNX graph), for <see cref="Module.ForInference"/>.</summary>
public interface IInferencePreparable
{
    /// <summary>The module's evaluation-mode computation prepared for inputs of shape (N, …<paramref name="sampleShape"/>), with a line per step for the plan.</summary>
    (Func<Tensor, Tensor> Run, IReadOnlyList<string> Plan) PrepareForInference(int[] sampleShape);
}

/// <summary>Builds an <see cref="InferenceModel"/>'s steps from a module tree.</summary>
internal static class InferencePlanner
{
    public static (Func<Tensor, Tensor> Run, List<string> Plan) Prepare(Module m)
    {
        var plan = new List<string>();
        var run = Step(m, plan);
        return (run, plan);
    }

    static Func<Tensor, Tensor> Step(Module m, List<string> plan)
    {
        switch (m)
        {
            case Sequential seq:
                return Chain(seq, plan);
            case BasicBlock block:
                return Block(block, plan);
            case Conv2d conv:
                plan.Add("conv2d");
                return FoldedConv.Of(conv, null, relu: false).Run;
            case Linear linear:
                plan.Add("linear");
                return FoldedLinear.Of(linear, null, relu: false).Run;
            case Dropout or Dropout2d:
                plan.Add($"{m.GetType().Name.ToLowerInvariant()} (identity in evaluation)");
                return x => x;
            case IInferencePreparable own:
                var (run, steps) = own.PrepareForInference([]);
                plan.AddRange(steps);
                return run;
            default:
                plan.Add(m.GetType().Name.ToLowerInvariant());
                return x => EvalForward(m, x);
        }
    }

    /// <summary>The module's own forward in evaluation mode, its mode restored.</summary>
    internal static Tensor EvalForward(Module m, Tensor x)
    {
        bool was = m.IsTraining;
        if (was) m.Eval();
        try
        {
            return m.Forward(x);
        }
        finally
        {
            if (was) m.Train();
        }
    }

    static Func<Tensor, Tensor> Chain(Sequential seq, List<string> plan)
    {
        var steps = new List<Func<Tensor, Tensor>>();
        var layers = seq.ToList();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            var next = i + 1 < layers.Count ? layers[i + 1] : null;
            if (l is Conv2d conv)
            {
                var bn = next as BatchNorm2d;
                if (bn is not null) i++;
                bool relu = i + 1 < layers.Count && layers[i + 1] is Relu;
                if (relu) i++;
                // 2x2 stride-2 max pooling: taken as the convolution writes its output (a Winograd tile is one window).
                bool pool = i + 1 < layers.Count && layers[i + 1] is MaxPool2d { KernelSize: (2, 2), Stride: (2, 2), Padding: (0, 0) };
                if (pool) i++;
                plan.Add($"conv2d{(bn is null ? "" : "+batchnorm")}{(relu ? "+relu" : "")}{(pool ? "+maxpool2" : "")}{(bn is null && !relu && !pool ? "" : " (fused)")}");
                steps.Add(FoldedConv.Of(conv, bn, relu, pool).Run);
            }
            else if (l is Linear linear)
            {
                var bn = next as BatchNorm1d;
                if (bn is not null) i++;
                bool relu = i + 1 < layers.Count && layers[i + 1] is Relu;
                if (relu) i++;
                plan.Add($"linear{(bn is null ? "" : "+batchnorm")}{(relu ? "+relu" : "")}{(bn is null && !relu ? "" : " (fused)")}");
                steps.Add(FoldedLinear.Of(linear, bn, relu).Run);
            }
            else steps.Add(Step(l, plan));
        }
        var array = steps.ToArray();
        return x =>
        {
            foreach (var s in array) x = s(x);
            return x;
        };
    }

    static Func<Tensor, Tensor> Block(BasicBlock block, List<string> plan)
    {
        var c = block.NamedChildren().ToDictionary(k => k.Name, k => k.Module);
        var conv1 = FoldedConv.Of((Conv2d)c["conv1"], (BatchNorm2d)c["bn1"], relu: true);
        var conv2 = FoldedConv.Of((Conv2d)c["conv2"], (BatchNorm2d)c["bn2"], relu: false);
        FoldedConv? down = null;
        if (c.TryGetValue("downsample", out var d))
        {
            var ds = (Sequential)d;
            down = FoldedConv.Of((Conv2d)ds[0], (BatchNorm2d)ds[1], relu: false);
        }
        plan.Add($"basicblock: conv2d+batchnorm+relu, conv2d+batchnorm{(down is null ? "" : ", shortcut conv2d+batchnorm")}, add+relu (fused)");
        return x =>
        {
            var h = conv1.Run(x);
            return conv2.RunAddRelu(h, down is null ? x : down.Run(x));
        };
    }

    /// <summary>The per-output-channel scale and shift of a batch norm in evaluation mode: y = scale·x + shift.</summary>
    internal static (double[] Scale, double[] Shift) Affine(BatchNormBase bn)
    {
        var mean = bn.RunningMean?.Data.ToArray();
        var var = bn.RunningVar?.Data.ToArray();
        if (mean is null || var is null)
            throw new InvalidOperationException($"ForInference: {bn.GetType().Name} without running statistics normalizes with each batch's own; it cannot be folded");
        return Affine(bn.Weight?.Data.ToArray(), bn.Bias?.Data.ToArray(), mean, var, bn.Eps);
    }

    /// <summary>scale = γ / √(σ² + ε), shift = β − μ·scale per channel (γ 1 and β 0 when absent); also an imported graph's BatchNormalization.</summary>
    internal static (double[] Scale, double[] Shift) Affine(float[]? gamma, float[]? beta, float[] mean, float[] var, double eps)
    {
        var scale = new double[mean.Length];
        var shift = new double[mean.Length];
        for (int i = 0; i < mean.Length; i++)
        {
            scale[i] = (gamma?[i] ?? 1.0) / Math.Sqrt(var[i] + eps);
            shift[i] = (beta?[i] ?? 0.0) - mean[i] * scale[i];
        }
        return (scale, shift);
    }

    /// <summary>W·scale per output row and (b·scale + shift), in double before rounding to float.</summary>
    internal static (float[] W, float[] B) Fold(float[] w, float[]? b, int outputs, double[]? scale, double[]? shift)
    {
        int per = w.Length / outputs;
        var fw = new float[w.Length];
        var fb = new float[outputs];
        for (int o = 0; o < outputs; o++)
        {
            double s = scale?[o] ?? 1;
            for (int k = 0; k < per; k++) fw[o * per + k] = (float)(w[o * per + k] * s);
            fb[o] = (float)((b?[o] ?? 0) * s + (shift?[o] ?? 0));
        }
        return (fw, fb);
    }
}

/// <summary>
/// A convolution with its batch norm folded in, its ReLU fused, and its weights re-laid once per input
/// geometry. Each call takes the fastest path that fits: <see cref="DirectConv"/> for strided and 1x1
/// convolutions (and for the rest at small batches while the cores are apart), Winograd for 3x3 stride 1,
/// else im2col + GEMM.
/// </summary>
internal sealed class FoldedConv
{
    readonly float[] _w, _b;
    readonly int _o, _c, _kh, _kw, _groups;
    readonly (int H, int W) _stride, _padding, _dilation;
    readonly bool _relu, _pool;
    float[]? _winograd, _withBias;
    DirectWeights? _direct;

    /// <summary>The weights packed for <see cref="DirectConv"/> with so many vectors, swapped as one reference.</summary>
    sealed record DirectWeights(float[] Packed, int Vectors);
    Gemm.Packed[]? _winogradPacked, _winogradRows;
    readonly Conv2dKernel.PackedConvWeights _packed = new();

    FoldedConv(float[] w, float[] b, int o, int c, int kh, int kw, int groups, (int, int) stride, (int, int) padding, (int, int) dilation, bool relu, bool pool = false)
    {
        (_w, _b, _o, _c, _kh, _kw, _groups, _stride, _padding, _dilation, _relu, _pool) = (w, b, o, c, kh, kw, groups, stride, padding, dilation, relu, pool);
    }

    /// <summary>The convolution with <paramref name="bn"/> folded in, then ReLU, then 2x2 stride-2 max pooling when asked.</summary>
    public static FoldedConv Of(Conv2d conv, BatchNorm2d? bn, bool relu, bool pool = false)
    {
        var (scale, shift) = bn is null ? (null, null) : InferencePlanner.Affine(bn);
        var (w, b) = InferencePlanner.Fold(conv.Weight.Data.ToArray(), conv.Bias?.Data.ToArray(), conv.OutChannels, scale, shift);
        return new FoldedConv(w, b, conv.OutChannels, conv.InChannels, conv.KernelSize.H, conv.KernelSize.W, conv.Groups,
            conv.Stride, conv.Padding, conv.Dilation, relu, pool);
    }

    /// <summary>From raw weights (an imported graph's Conv, with its BatchNormalization's affine map when folded).</summary>
    public static FoldedConv Of(float[] weight, float[]? bias, int[] weightShape, int groups, (int, int) stride, (int, int) padding, (int, int) dilation,
        double[]? scale, double[]? shift, bool relu)
    {
        var (w, b) = InferencePlanner.Fold(weight, bias, weightShape[0], scale, shift);
        return new FoldedConv(w, b, weightShape[0], weightShape[1] * groups, weightShape[2], weightShape[3], groups, stride, padding, dilation, relu);
    }

    public Tensor Run(Tensor x) => Run(x, null);

    /// <summary>
    /// ReLU(conv(x) + residual): a residual block's second convolution with its add and ReLU, which the direct
    /// kernels apply as they write the output (this convolution's own ReLU, if any, is not applied first).
    /// </summary>
    public Tensor RunAddRelu(Tensor x, Tensor residual) => Run(x, residual);

    Tensor Run(Tensor x, Tensor? residual)
    {
        if (residual is not null && (_relu || _pool))
            throw new InvalidOperationException("FoldedConv: a convolution with its own ReLU or pooling takes no residual");
        if (x.Rank != 4 || x.Shape[1] != _c)
            throw new ShapeException("conv2d", $"input of shape (N, {_c}, H, W)", x.ShapeString);
        var s = Shape(x, 0, 0);
        // Not OH < 1 alone: C#'s division rounds (H + 2P - K) / S toward zero, so a stride-2 window one row too tall still gives OH = 1.
        if (s.H + 2 * s.PH < s.DH * (s.KH - 1) + 1 || s.W + 2 * s.PW < s.DW * (s.KW - 1) + 1)
            throw new ShapeException("conv2d", $"a padded input at least as large as the kernel ({_kh} x {_kw})", x.ShapeString);
        if (_pool && (s.OH < 2 || s.OW < 2))
            throw new ShapeException("max_pool2d", "an input of at least 2 x 2 for its 2 x 2 window", $"a convolution output of {s.OH} x {s.OW}");
        var y = new Tensor(_pool ? [s.N, _o, s.OH / 2, s.OW / 2] : [s.N, _o, s.OH, s.OW], clear: false);
        if (residual is not null && !residual.SameShape(y))
            throw new ShapeException("conv2d + add", $"a residual of the output's shape {y.ShapeString}", residual.ShapeString);
        if (y.Numel == 0) return y;
        if (!_pool && DirectConv.Chooses(s))
        {
            RunDirect(s, x, y, residual);
            return y;
        }
        if (!_pool && WinogradConv.AcceptsTilesAsRows(s, WinogradConv.RowsMaxTiles))
        {
            // Few tiles (one 7 x 7 or 14 x 14 image): the tiles as the GEMM's rows, the filters packed as its B.
            _winograd ??= WinogradConv.TransformFilters(s, _w);
            if (_winogradRows is null || _winogradRows[0].Isa != Gemm.Selected) _winogradRows = WinogradConv.PackTransformedAsB(s, _winograd);
            WinogradConv.ForwardTilesAsRows(s, x.Storage, _winogradRows, _b, y.Storage, _relu);
        }
        else if (!_pool && WinogradConv.SideBySide(s) is var k and > 0)
        {
            // A small map (ResNet's 7 x 7 layers): k images a row, so that Winograd's tile rows are filled.
            var v = WinogradConv.Virtual(s, k);
            PrepareWinograd(v);
            var pool = System.Buffers.ArrayPool<float>.Shared;
            float[] xv = pool.Rent(v.N * v.C * v.H * v.W), yv = pool.Rent(v.N * v.O * v.OH * v.OW);
            try
            {
                WinogradConv.PlaceSideBySide(s, k, x.Storage, xv);
                WinogradConv.ForwardTransformed(v, xv, _winograd!, _b, yv, _relu, false, _winogradPacked);
                WinogradConv.TakeSideBySide(s, k, yv, y.Storage);
            }
            finally
            {
                pool.Return(xv);
                pool.Return(yv);
            }
        }
        else if (WinogradConv.Accepts(s, WinogradConv.PreparedMinTiles))
        {
            PrepareWinograd(s);
            WinogradConv.ForwardTransformed(s, x.Storage, _winograd!, _b, y.Storage, _relu, _pool, _winogradPacked);
        }
        else
        {
            _withBias ??= s.Pointwise ? null : Conv2dKernel.WeightsWithBias(s, _w, _b);
            Conv2dKernel.ForwardGemm(s, x.Storage, _w, _b, _withBias, y.Storage, _relu, _pool, _packed);
        }
        // The other kernels write the convolution; the residual's add and ReLU follow in one pass.
        if (residual is not null) Activation.AddRelu(y.Span, residual.Data, y.Span);
        return y;
    }

    /// <summary>The shape of this convolution on x, its input taken (moreH, moreW) larger at the end.</summary>
    ConvShape Shape(Tensor x, int moreH, int moreW) =>
        new(x.Shape[0], _c, x.Shape[2] + moreH, x.Shape[3] + moreW, _o, _kh, _kw, _stride.H, _stride.W, _padding.H, _padding.W,
            _dilation.H, _dilation.W, _groups);

    /// <summary>
    /// The convolution of x padded by this convolution's padding at the start and by that plus
    /// (<paramref name="moreH"/>, <paramref name="moreW"/>) at the end, when the direct kernels take it, else
    /// null: an ONNX Conv's unequal pads without padding x first.
    /// </summary>
    public Tensor? RunDirectPaddedMoreAtEnd(Tensor x, int moreH, int moreW, Tensor? residual = null)
    {
        if (_pool || x.Rank != 4 || x.Shape[1] != _c) return null;
        var s = Shape(x, moreH, moreW);
        if (s.H < 1 || s.W < 1 || s.OH < 1 || s.OW < 1 || s.N == 0 || !DirectConv.Chooses(s)) return null;
        int[] shape = [s.N, _o, s.OH, s.OW];
        if (residual is not null && !residual.Shape.SequenceEqual(shape)) return null;
        var y = new Tensor(shape, clear: false);
        RunDirect(s, x, y, residual);
        return y;
    }

    void RunDirect(in ConvShape s, Tensor x, Tensor y, Tensor? residual)
    {
        int nv = DirectConv.Vectors(s);
        var direct = _direct;
        if (direct is null || direct.Vectors != nv) _direct = direct = new DirectWeights(DirectConv.Pack(s, _w, nv), nv);
        DirectConv.Forward(s, x.Storage, direct.Packed, nv, _b, y.Storage, _relu, x.Shape[2], x.Shape[3], residual?.Storage);
    }

    /// <summary>The Winograd filter transform (it depends on the weights and channel counts only), packed for the GEMM.</summary>
    void PrepareWinograd(in ConvShape s)
    {
        _winograd ??= WinogradConv.TransformFilters(s, _w);
        if (_winogradPacked is null || _winogradPacked[0].Isa != Gemm.Selected) _winogradPacked = WinogradConv.PackTransformed(s, _winograd);
    }
}

/// <summary>A linear layer with its batch norm folded in and its ReLU fused.</summary>
internal sealed class FoldedLinear
{
    readonly Tensor _w, _b;
    readonly bool _relu;
    readonly Func<Tensor, Tensor>? _unfolded;

    FoldedLinear(Tensor w, Tensor b, bool relu, Func<Tensor, Tensor>? unfolded) => (_w, _b, _relu, _unfolded) = (w, b, relu, unfolded);

    public static FoldedLinear Of(Linear linear, BatchNorm1d? bn, bool relu)
    {
        var (scale, shift) = bn is null ? (null, null) : InferencePlanner.Affine(bn);
        var (w, b) = InferencePlanner.Fold(linear.Weight.Data.ToArray(), linear.Bias?.Data.ToArray(), linear.OutFeatures, scale, shift);
        // BatchNorm1d normalizes dimension 1, which is the linear layer's output features only for (N, F) inputs.
        Func<Tensor, Tensor>? unfolded = bn is null ? null : x =>
        {
            var y = InferencePlanner.EvalForward(bn, InferencePlanner.EvalForward(linear, x));
            return relu ? Functional.Relu(y) : y;
        };
        return new FoldedLinear(Tensor.FromArray(w, linear.OutFeatures, linear.InFeatures), Tensor.FromArray(b, linear.OutFeatures), relu, unfolded);
    }

    public Tensor Run(Tensor x) =>
        _unfolded is not null && x.Rank != 2 ? _unfolded(x)
        : _relu ? Functional.LinearRelu(x, _w, _b) : Functional.Linear(x, _w, _b);
}
