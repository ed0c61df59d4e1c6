using Nabla.Kernels;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

/// <summary>
/// <see cref="Module.ForInference"/>: the prepared model equals <c>Eval().Forward</c> for folded batch
/// norms, fused ReLUs, residual blocks, odd sizes, strides 1 and 2, both convolution paths (Winograd and
/// im2col), and batch 1 and 7.
/// </summary>
public class InferenceModelTests
{
    /// <summary>Gives every batch norm non-trivial statistics and affine parameters, so folding is really tested.</summary>
    internal static T Randomized<T>(T model, ulong seed) where T : Module
    {
        var g = new Generator(seed);
        var state = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var updates = new Dictionary<string, Tensor>();
        foreach (var (key, value) in state)
        {
            if (key.EndsWith("running_mean", StringComparison.Ordinal)) updates[key] = Tensor.Randn([.. value.Shape], g) * 0.5f;
            else if (key.EndsWith("running_var", StringComparison.Ordinal)) updates[key] = Tensor.Rand([.. value.Shape], g) + 0.5f;
            else if (key.Contains("bn", StringComparison.Ordinal) || model.NamedModules().Any(m => m.Module is BatchNormBase && key.StartsWith(m.Name + ".", StringComparison.Ordinal) && m.Name.Length > 0))
            {
                if (key.EndsWith("weight", StringComparison.Ordinal)) updates[key] = Tensor.Rand([.. value.Shape], g) + 0.5f;
                else if (key.EndsWith("bias", StringComparison.Ordinal)) updates[key] = Tensor.Randn([.. value.Shape], g) * 0.3f;
            }
        }
        model.LoadStateDict(updates, strict: false);
        return model;
    }

    static void Same(Module model, int[] sampleShape, int batch, ulong seed, float tol = 1e-5f)
    {
        var fast = model.ForInference(sampleShape);
        var x = Tensor.Randn([batch, .. sampleShape], new Generator(seed));
        Tensor expected;
        using (Autograd.NoGrad()) expected = model.Eval().Forward(x);
        var actual = fast.Forward(x);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        var e = expected.ToArray();
        var a = actual.ToArray();
        double scale = e.Max(v => Math.Abs((double)v)) + 1e-6;
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * scale, $"element {i}: expected {e[i]}, got {a[i]} (plan: {string.Join("; ", fast.Plan)})");
    }

    [Theory]
    [InlineData(1, 1, 11)]   // im2col path, odd size (the fused pooling drops the last row and column)
    [InlineData(7, 1, 11)]
    [InlineData(1, 2, 15)]   // stride 2
    [InlineData(7, 2, 15)]
    public void Conv_batchnorm_relu_folds_and_fuses(int batch, int stride, int size)
    {
        var g = new Generator(1);
        var model = Randomized(new Sequential(
            new Conv2d(3, 8, 3, stride: stride, padding: 1, bias: true, generator: g), new BatchNorm2d(8), new Relu(),
            new Conv2d(8, 6, 1, generator: g), new Relu(),                        // pointwise, no batch norm
            new Conv2d(6, 5, 3, stride: stride, padding: 0, bias: false, generator: g), new BatchNorm2d(5), // no ReLU
            new MaxPool2d(2), new Flatten()), 2);
        Same(model, [3, size, size], batch, 3);
        var plan = model.ForInference(3, size, size).Plan;
        Assert.Equal("conv2d+batchnorm+relu (fused)", plan[0]);
        Assert.Equal("conv2d+relu (fused)", plan[1]);
        Assert.Equal("conv2d+batchnorm+maxpool2 (fused)", plan[2]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Winograd_convolutions_fold_and_fuse_relu(int batch)
    {
        var g = new Generator(4);
        var conv = new Conv2d(32, 32, 3, padding: 1, bias: false, generator: g);
        var model = Randomized(new Sequential(conv, new BatchNorm2d(32), new Relu(), new Conv2d(32, 32, 3, padding: 1, generator: g), new BatchNorm2d(32)), 5);
        Assert.True(WinogradConv.Accepts(new ConvShape(batch, 32, 17, 19, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
        Same(model, [32, 17, 19], batch, 6);
        // With 2x2 pooling taken from the Winograd tiles (odd sizes: the last row and column are dropped, as max_pool2d does).
        var pooled = Randomized(new Sequential(new Conv2d(32, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
            new Conv2d(32, 32, 3, padding: 1, generator: g), new MaxPool2d(2)), 7);
        Same(pooled, [32, 17, 35], batch, 8);
        Assert.Equal("conv2d+batchnorm+relu+maxpool2 (fused)", pooled.ForInference(32, 17, 35).Plan[0]);
    }

    [Theory]
    [InlineData(7, false, 1)]   // 49 pixels: the transposed product (pixels as the GEMM's rows)
    [InlineData(7, true, 1)]    // ... with the pooling fused after it
    [InlineData(14, true, 1)]
    [InlineData(9, false, 1)]
    [InlineData(7, false, 7)]   // a batch: images grouped, the plain product
    public void Small_images_take_the_transposed_product(int size, bool pool, int batch)
    {
        Assert.True(Conv2dKernel.TransposedFits(size * size, 64));
        var g = new Generator(10);
        var layers = new List<Module> { new Conv2d(24, 64, 3, padding: 1, generator: g), new BatchNorm2d(64), new Relu() };
        if (pool) layers.Add(new MaxPool2d(2));
        layers.AddRange([new Conv2d(64, 96, 3, stride: 2, padding: 1, bias: false, generator: g), new BatchNorm2d(96)]);
        var model = Randomized(new Sequential([.. layers]), 11);
        Same(model, [24, size, size], batch, 12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void One_14x14_image_takes_winograd_when_prepared(bool pool)
    {
        var s = new ConvShape(1, 32, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        bool hardware = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        Assert.False(WinogradConv.Accepts(s)); // training keeps im2col for 56 tiles
        Assert.Equal(hardware, WinogradConv.Accepts(s, WinogradConv.PreparedMinTiles));
        var g = new Generator(16);
        var layers = new List<Module> { new Conv2d(32, 40, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(40), new Relu() };
        if (pool) layers.Add(new MaxPool2d(2));
        Same(Randomized(new Sequential([.. layers]), 17), [32, 14, 14], 1, 18);
    }

    [Theory]
    [InlineData(7, 1)]    // ResNet's 7 x 7 maps, one image: 16 tiles
    [InlineData(7, 3)]
    [InlineData(14, 1)]   // one 14 x 14 image: 49 tiles
    [InlineData(9, 2)]    // odd: partial tiles at the right and bottom
    public void Few_tiles_run_through_winograd_as_the_products_rows(int size, int batch)
    {
        bool hardware = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        Assert.Equal(hardware, WinogradConv.AcceptsTilesAsRows(new ConvShape(batch, 32, size, size, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1), WinogradConv.RowsMaxTiles));
        var g = new Generator(19);
        var model = Randomized(new Sequential(
            new Conv2d(32, 40, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(40), new Relu(),
            new Conv2d(40, 32, 3, padding: 1, generator: g)), 20); // no batch norm, no ReLU: negative outputs kept
        Same(model, [32, size, size], batch, 21);
    }

    [Theory]
    [InlineData(7, 8, 2)]    // ResNet's 7 x 7 maps: two images a row
    [InlineData(7, 9, 2)]    // an odd batch: the last row holds one image and zeros
    [InlineData(3, 32, 4)]
    [InlineData(5, 17, 8)]
    public void Small_maps_run_through_winograd_side_by_side(int size, int batch, int perRow)
    {
        var s = new ConvShape(batch, 32, size, size, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        Assert.Equal(perRow, WinogradConv.SideBySide(s));
        var g = new Generator(13);
        var model = Randomized(new Sequential(
            new Conv2d(32, 40, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(40), new Relu(),
            new Conv2d(40, 32, 3, padding: 1, generator: g)), 14); // no batch norm, no ReLU: negative outputs kept
        Same(model, [32, size, size], batch, 15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Residual_networks_of_basic_blocks_match(int batch)
    {
        var g = new Generator(7);
        var model = Randomized(new Sequential(
            new Conv2d(3, 16, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(16), new Relu(),
            new BasicBlock(16, 16, 1, g), new BasicBlock(16, 32, 2, g), new BasicBlock(32, 32, 1, g),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 10, generator: g)), 8);
        Same(model, [3, 13, 13], batch, 9);
        Assert.Contains(model.ForInference(3, 13, 13).Plan, p => p.StartsWith("basicblock", StringComparison.Ordinal) && p.Contains("shortcut", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Linear_batchnorm_relu_and_dropout_match(int batch)
    {
        var g = new Generator(10);
        var model = Randomized(new Sequential(new Flatten(), new Linear(20, 16, generator: g), new BatchNorm1d(16), new Relu(),
            new Dropout(0.5, generator: g), new Linear(16, 4, generator: g)), 11);
        Same(model, [4, 5], batch, 12);
        Assert.Equal(["flatten", "linear+batchnorm+relu (fused)", "dropout (identity in evaluation)", "linear"], model.ForInference(4, 5).Plan);
    }

    [Fact]
    public void The_prepared_model_copies_the_weights_and_checks_the_input_shape()
    {
        var lin = new Linear(3, 2, generator: new Generator(13));
        var fast = lin.ForInference(3);
        var x = Tensor.Randn([4, 3], new Generator(14));
        var before = fast.Forward(x).ToArray();
        lin.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Tensor.Zeros(2, 3) }, strict: false);
        Assert.Equal(before, fast.Forward(x).ToArray());
        var e = Assert.Throws<ShapeException>(() => fast.Forward(Tensor.Zeros(4, 5)));
        Assert.Contains("input of shape (N, 3)", e.Message);
        Assert.Throws<ShapeException>(() => new Conv2d(3, 4, 5).ForInference(3, 2, 2));
        // (2 - 3) / 2 + 1 is 1 in integer division: the window check must not rest on the output size.
        Assert.Throws<ShapeException>(() => new Conv2d(8, 32, 3, stride: 2).ForInference(8, 2, 2));
        Assert.Throws<ArgumentException>(() => lin.ForInference(0));
    }
}

/// <summary>Max pooling without gradients (no argmax kept) equals the recorded path, padding and odd sizes included.</summary>
public class MaxPoolInferenceTests
{
    [Theory]
    [InlineData(3, 2, 1, 13, 11)]
    [InlineData(3, 2, 1, 112, 112)]
    [InlineData(2, 2, 0, 9, 7)]
    [InlineData(3, 1, 1, 5, 6)]
    [InlineData(5, 3, 2, 17, 10)]
    [InlineData(3, 2, 1, 5, 1)]     // narrower than the window: no window wholly inside a row
    [InlineData(3, 2, 0, 9, 4)]
    public void Without_gradients_the_same_maxima(int k, int stride, int pad, int h, int w)
    {
        var x = Tensor.Randn([2, 3, h, w], new Generator((ulong)(h * w)));
        var recorded = Functional.MaxPool2d(x.Detach().RequireGrad(), k, stride, pad);
        Tensor plain;
        using (Autograd.NoGrad()) plain = Functional.MaxPool2d(x, k, stride, pad);
        Assert.Equal(recorded.ToArray(), plain.ToArray());
    }
}

/// <summary>One image's convolution splits its im2col over the cores: the same values as the per-image path of a batch.</summary>
public class SingleImageConvTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void One_image_equals_the_same_image_in_a_batch(int stride)
    {
        var g = new Generator(30);
        var x = Tensor.Randn([1, 17, 67, 65], g);
        var w = Tensor.Randn([8, 17, 3, 3], g);
        var b = Tensor.Randn([8], g);
        using var noGrad = Autograd.NoGrad();
        var alone = Functional.Conv2d(x, w, b, stride, 1);
        var batch = Functional.Conv2d(Tensor.Cat([x, Tensor.Randn([1, 17, 67, 65], g)], 0), w, b, stride, 1);
        Assert.Equal(alone.ToArray(), batch.Narrow(0, 0, 1).ToArray());
    }
}
