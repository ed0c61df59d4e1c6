namespace Nabla.Onnx.Import;

/// <summary>The window geometry of a convolution or pooling node, resolved for one input size.</summary>
internal readonly record struct Window((int H, int W) Kernel, (int H, int W) Stride, (int H, int W) Dilation,
    (int H, int W) PadBegin, (int H, int W) PadEnd, (int H, int W) Output);

/// <summary>
/// Reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode once at load time, and
/// resolves them per call: SAME_UPPER / SAME_LOWER pads depend on the input's size. ONNX's defaults
/// differ from PyTorch's: strides default to 1 (not the kernel size), pads to 0.
/// </summary>
internal sealed class PoolGeometry
{
    long[]? _kernel, _strides, _dilations, _pads;
    string _autoPad = "NOTSET";
    bool _ceil;

    public static PoolGeometry Read(NodeInfo n, long[]? kernel, bool allowCeil)
    {
        var g = new PoolGeometry
        {
            _kernel = kernel,
            _strides = n.Ints("strides"),
            _dilations = n.Ints("dilations"),
            _pads = n.Ints("pads"),
            _autoPad = n.String("auto_pad", "NOTSET"),
            _ceil = allowCeil && n.IntIn("ceil_mode", 0, 0, 1) == 1,
        };
        if (g._autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
            throw n.Unsupported($"auto_pad = '{g._autoPad}' is not supported (supported: NOTSET, SAME_UPPER, SAME_LOWER, VALID)");
        int? dims = kernel?.Length ?? g._strides?.Length ?? g._dilations?.Length ?? (g._pads is { } pads ? pads.Length / 2 : null);
        if (g._pads is { } odd && odd.Length % 2 == 1) throw n.Unsupported($"pads has {g._pads.Length} values; expected a begin and an end per dimension");
        if (dims is > 2) throw n.Unsupported($"{dims} spatial dimensions; Nabla imports 1-D and 2-D windows");
        if (dims is int d)
        {
            Check(n, "strides", g._strides, d, 1);
            Check(n, "dilations", g._dilations, d, 1);
            Check(n, "kernel_shape", kernel, d, 1);
            Check(n, "pads", g._pads, 2 * d, 0);
        }
        return g;
    }

    static void Check(NodeInfo n, string name, long[]? values, int count, long min)
    {
        if (values is null) return;
        if (values.Length != count) throw n.Unsupported($"{name} has {values.Length} values; expected {count}");
        if (values.Any(v => v < min || v > 1 << 20)) throw n.Unsupported($"{name} [{string.Join(", ", values)}] must be at least {min}");
    }

    /// <summary>The geometry for input <paramref name="x"/> (N, C, H, W); a 1-D node's values apply to W.</summary>
    public Window Resolve(NodeInfo n, Tensor x, (int H, int W) kernel, bool oneD, bool ceil)
    {
        (int H, int W) Pair(long[]? v, int fallback, int offset = 0) =>
            v is null ? (fallback, fallback) : oneD ? (fallback, (int)v[offset]) : ((int)v[offset], (int)v[offset + 1]);
        var stride = Pair(_strides, 1);
        var dilation = Pair(_dilations, 1);
        (int H, int W) begin = Pair(_pads, 0), end = _pads is null ? (0, 0) : oneD ? (0, (int)_pads[1]) : ((int)_pads[2], (int)_pads[3]);
        if (oneD && _pads is not null) begin = (0, (int)_pads[0]);
        int h = x.Shape[2], w = x.Shape[3];
        ceil |= _ceil;
        (int Begin, int End, int Out) Dim(int size, int k, int s, int d, int pb, int pe)
        {
            int eff = (k - 1) * d + 1;
            switch (_autoPad)
            {
                case "SAME_UPPER" or "SAME_LOWER":
                {
                    int o = (size + s - 1) / s;
                    int total = Math.Max((o - 1) * s + eff - size, 0);
                    int small = total / 2, large = total - small;
                    return _autoPad == "SAME_UPPER" ? (small, large, o) : (large, small, o);
                }
                case "VALID":
                    return (0, 0, Math.Max((size - eff) / s + 1, 0));
                default:
                {
                    int span = size + pb + pe - eff;
                    int o = span < 0 ? 0 : (ceil ? (span + s - 1) / s : span / s) + 1;
                    // ceil_mode never starts a window in the end padding (ONNX, PyTorch and ONNX Runtime agree).
                    if (ceil && o > 1 && (o - 1) * s >= size + pb) o--;
                    return (pb, pe, o);
                }
            }
        }
        var (bh, eh, oh) = Dim(h, kernel.H, stride.H, dilation.H, begin.H, end.H);
        var (bw, ew, ow) = Dim(w, kernel.W, stride.W, dilation.W, begin.W, end.W);
        if (oh < 1 || ow < 1)
            throw new OnnxImportException($"{n.Display}: a {kernel.H}x{kernel.W} window does not fit input {x.ShapeString} with its padding");
        return new Window(kernel, stride, dilation, (bh, bw), (eh, ew), (oh, ow));
    }

    public (int H, int W) Kernel(bool oneD) =>
        oneD ? (1, (int)_kernel![0]) : ((int)_kernel![0], (int)_kernel[1]);
}

/// <summary>MaxPool, AveragePool and GlobalAveragePool with ONNX's semantics, on Nabla's pooling ops.</summary>
internal static class PoolOps
{
    public static OpRun Pool(NodeInfo n, bool max, int version)
    {
        var allowed = new List<string> { "auto_pad", "kernel_shape", "pads", "strides" };
        if (max && version >= 8) allowed.Add("storage_order");
        if (version >= 10) allowed.Add("ceil_mode");
        if (max && version >= 10) allowed.Add("dilations");
        if (!max && version >= 7) allowed.Add("count_include_pad");
        n.Allow([.. allowed]);
        var kernel = n.Ints("kernel_shape") ?? throw n.Unsupported("kernel_shape is required");
        var geometry = PoolGeometry.Read(n, kernel, allowCeil: version >= 10);
        bool countPad = !max && version >= 7 && n.IntIn("count_include_pad", 0, 0, 1) == 1;
        if (n.OutputRead(1)) throw n.Unsupported("the Indices output is not supported");
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            if (x.Rank != kernel.Length + 2)
                throw new OnnxImportException($"{n.Display}: expects an input of rank {kernel.Length + 2} for a {kernel.Length}-D window; got {x.ShapeString}");
            bool oneD = kernel.Length == 1;
            if (oneD) x = x.Unsqueeze(2);
            var g = geometry.Resolve(n, x, geometry.Kernel(oneD), oneD, ceil: false);
            var y = max ? MaxPool(x, g) : AveragePool(x, g, countPad);
            return [OnnxValue.Of(oneD ? y.Squeeze(2) : y)];
        };
    }

    /// <summary>The input padded so that a pad-free pooling gives <see cref="Window.Output"/>: the node's pads plus, for ceil_mode, the overhang.</summary>
    static (int H, int W) Overhang(Tensor x, Window g) =>
        (Math.Max((g.Output.H - 1) * g.Stride.H + (g.Kernel.H - 1) * g.Dilation.H + 1 - (x.Shape[2] + g.PadBegin.H + g.PadEnd.H), 0),
         Math.Max((g.Output.W - 1) * g.Stride.W + (g.Kernel.W - 1) * g.Dilation.W + 1 - (x.Shape[3] + g.PadBegin.W + g.PadEnd.W), 0));

    static Tensor MaxPool(Tensor x, Window g)
    {
        var over = Overhang(x, g);
        // Inference (nothing to back-propagate): the kernel clips each window to the image, whatever the
        // padding on either side, so no padded copy of the input is made (ML.NET's ResNet-18 pads 1 before
        // and 0 after). Every window must touch the image.
        int h = x.Shape[2], w = x.Shape[3];
        if (g.Dilation == (1, 1) && !Tensor.Recording([x]) && g.PadBegin.H < g.Kernel.H && g.PadBegin.W < g.Kernel.W
            && (g.Output.H - 1) * g.Stride.H - g.PadBegin.H < h && (g.Output.W - 1) * g.Stride.W - g.PadBegin.W < w)
        {
            var pooled = new Tensor([x.Shape[0], x.Shape[1], g.Output.H, g.Output.W], clear: false);
            if (pooled.Numel > 0)
                Kernels.Pool2dKernel.MaxForwardNoIndex(new Kernels.PoolShape(x.Shape[0] * x.Shape[1], h, w, g.Kernel.H, g.Kernel.W, g.Stride.H, g.Stride.W,
                    g.PadBegin.H, g.PadBegin.W, g.Output.H, g.Output.W), x.Storage, pooled.Storage);
            return pooled;
        }
        // Symmetric padding of at most half the window: the pooling kernel pads itself, no copy of the input.
        if (g.Dilation == (1, 1) && over == (0, 0) && g.PadBegin == g.PadEnd && 2 * g.PadBegin.H <= g.Kernel.H && 2 * g.PadBegin.W <= g.Kernel.W)
            return Nn.Functional.MaxPool2d(x, g.Kernel, g.Stride, g.PadBegin);
        var padded = PadIf(x, g.PadBegin, (g.PadEnd.H + over.H, g.PadEnd.W + over.W), float.NegativeInfinity);
        if (g.Dilation == (1, 1))
            return Nn.Functional.MaxPool2d(padded, g.Kernel, g.Stride, (0, 0));
        // Dilated windows: the maximum over the kernel's strided views of the input.
        Tensor? y = null;
        foreach (var view in Views(padded, g))
            y = y is null ? view : Tensor.Maximum(y, view);
        return y!;
    }

    /// <summary>
    /// Sum over the window divided by the count of the positions that count: the input's own
    /// (count_include_pad = 0) or the input's and the explicit pads' (1); the ceil_mode overhang
    /// never counts. Symmetric pads without overhang run Nabla's AvgPool2d directly.
    /// </summary>
    static Tensor AveragePool(Tensor x, Window g, bool countPad)
    {
        var over = Overhang(x, g);
        var (k, s) = (g.Kernel, g.Stride);
        if (over == (0, 0) && g.PadBegin == g.PadEnd && 2 * g.PadBegin.H <= k.H && 2 * g.PadBegin.W <= k.W)
            return Nn.Functional.AvgPool2d(x, k, s, g.PadBegin, countPad);
        var padded = PadIf(x, g.PadBegin, (g.PadEnd.H + over.H, g.PadEnd.W + over.W), 0f);
        float area = k.H * k.W;
        var sums = Nn.Functional.AvgPool2d(padded, k, s, (0, 0), countIncludePad: true) * area;
        var ones = Tensor.Ones(1, 1, x.Shape[2], x.Shape[3]);
        var counted = countPad
            ? PadIf(PadIf(ones, g.PadBegin, g.PadEnd, 1f), (0, 0), over, 0f)
            : PadIf(ones, g.PadBegin, (g.PadEnd.H + over.H, g.PadEnd.W + over.W), 0f);
        var counts = Nn.Functional.AvgPool2d(counted, k, s, (0, 0), countIncludePad: true) * area;
        return sums / counts;
    }

    static IEnumerable<Tensor> Views(Tensor padded, Window g)
    {
        for (int i = 0; i < g.Kernel.H; i++)
            for (int j = 0; j < g.Kernel.W; j++)
                yield return Strided(Strided(padded, 2, i * g.Dilation.H, g.Stride.H, g.Output.H), 3, j * g.Dilation.W, g.Stride.W, g.Output.W);
    }

    /// <summary>x[..., start : start + stride * count : stride, ...] along <paramref name="dim"/>, by narrowing and reshaping.</summary>
    internal static Tensor Strided(Tensor x, int dim, int start, int stride, int count)
    {
        int need = start + stride * count - x.Shape[dim];
        if (need > 0)
        {
            var pads = new int[2 * (x.Rank - dim)];
            pads[^1] = need; // the last pair belongs to dim
            x = x.Pad(pads);
        }
        var part = x.Narrow(dim, start, stride * count);
        if (stride == 1) return part;
        int[] shape = [.. part.Shape[..dim], count, stride, .. part.Shape[(dim + 1)..]];
        return part.Reshape(shape).Narrow(dim + 1, 0, 1).Squeeze(dim + 1);
    }

    static Tensor PadIf(Tensor x, (int H, int W) begin, (int H, int W) end, float value) =>
        begin == (0, 0) && end == (0, 0) ? x : x.Pad([begin.W, end.W, begin.H, end.H], value);

    public static OpRun GlobalAveragePool(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            if (x.Rank < 3) throw new OnnxImportException($"{n.Display}: expects (N, C, spatial...); got {x.ShapeString}");
            return [OnnxValue.Of(x.Mean([.. Enumerable.Range(2, x.Rank - 2)], keepDim: true))];
        };
    }
}
