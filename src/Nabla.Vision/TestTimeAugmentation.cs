using Nabla.Vision.Transforms;

namespace Nabla.Vision;

/// <summary>
/// Test-time evaluation over several views of one image: the model's class probabilities averaged over
/// crops (<see cref="FiveCrop"/>, <see cref="TenCrop"/>) or over scales, as AlexNet's ten-crop and
/// VGG's and ResNet's multi-scale evaluation.
/// </summary>
/// <remarks>
/// Averaging the softmax probabilities (not the logits) of views the network was trained to be invariant
/// to cancels part of each view's error; it typically lowers the top-1 error by a point or two at the cost
/// of one forward pass per view. The model runs without recording autograd.
/// </remarks>
public static class TestTimeAugmentation
{
    /// <summary>
    /// Runs <paramref name="model"/> on the (V, C, h, w) <paramref name="views"/> as one batch, turns each
    /// view's logits (V, K) into probabilities with a softmax over the classes, and returns their mean over
    /// the views, shape (K).
    /// </summary>
    /// <remarks>p_k = (1 / V) sum_v softmax(model(views)[v])_k. The result sums to 1.</remarks>
    public static Tensor AverageOverViews(Func<Tensor, Tensor> model, Tensor views)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(views);
        if (views.Rank != 4 || views.Numel == 0)
            throw new ShapeException("TestTimeAugmentation.AverageOverViews", "a non-empty stack of views of shape (V, C, h, w), as FiveCrop or TenCrop give", views.ShapeString);
        int v = views.Shape[0];
        Tensor logits;
        using (Autograd.NoGrad()) logits = model(views);
        if (logits is null || logits.Rank != 2 || logits.Shape[0] != v || logits.Shape[1] == 0)
            throw new ShapeException("TestTimeAugmentation.AverageOverViews", $"model output of shape ({v}, K): one row of class logits per view",
                logits is null ? "null" : logits.ShapeString);
        int k = logits.Shape[1];
        var sum = new double[k];
        var data = logits.Data;
        for (int i = 0; i < v; i++)
        {
            var row = data.Slice(i * k, k);
            // Subtract the row's maximum so exp cannot overflow.
            double max = double.NegativeInfinity, z = 0;
            foreach (float x in row) max = Math.Max(max, x);
            foreach (float x in row) z += Math.Exp(x - max);
            for (int j = 0; j < k; j++) sum[j] += Math.Exp(row[j] - max) / z;
        }
        var mean = new float[k];
        for (int j = 0; j < k; j++) mean[j] = (float)(sum[j] / v);
        return ImageTensor.Wrap(mean, k);
    }

    /// <summary>
    /// Multi-scale evaluation: for each size s of <paramref name="sizes"/>, the view
    /// <c>CenterCrop(cropSize)(Resize(s)(image))</c> (shorter side s, aspect kept); the class probabilities
    /// averaged over these views with <see cref="AverageOverViews"/>, shape (K).
    /// </summary>
    public static Tensor MultiScale(Func<Tensor, Tensor> model, Tensor image, int[] sizes, int cropSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sizes);
        var (c, _, _) = ImageTensor.Dims(image, "TestTimeAugmentation.MultiScale");
        if (sizes.Length == 0)
            throw new ArgumentException("TestTimeAugmentation.MultiScale: expected at least one size; got none", nameof(sizes));
        var crop = new CenterCrop(cropSize);
        int view = c * cropSize * cropSize;
        var stack = new float[sizes.Length * view];
        var unused = new Generator(0); // Resize and CenterCrop draw nothing
        for (int i = 0; i < sizes.Length; i++)
            crop.Apply(new Resize(sizes[i]).Apply(image, unused), unused).Data.CopyTo(stack.AsSpan(i * view, view));
        return AverageOverViews(model, ImageTensor.Wrap(stack, sizes.Length, c, cropSize, cropSize));
    }
}
