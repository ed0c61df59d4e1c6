using Nabla.Data;

namespace Nabla.Vision.Transforms;

/// <summary>What MixUp and CutMix share: argument checks, Beta sampling and soft targets.</summary>
internal static class BatchMixing
{
    public static void CheckArguments(double alpha, int numClasses)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"Alpha param must be positive; got {alpha}");
        if (numClasses < 1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), $"Please provide a valid positive value for the num_classes; got {numClasses}");
    }

    /// <summary>The batch's (B, C, H, W) sizes, after checking its targets are B class indices below <paramref name="numClasses"/>.</summary>
    public static (int B, int C, int H, int W) Check(Batch batch, int numClasses, string op)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var x = batch.Inputs;
        if (x.Rank != 4 || x.Numel == 0)
            throw new ShapeException(op, "a batch of images of shape (B, C, H, W)", x.ShapeString);
        int b = x.Shape[0];
        if (batch.Targets.Rank != 1 || batch.Targets.Shape[0] != b)
            throw new ShapeException(op, $"targets of shape ({b}) holding class indices", batch.Targets.ShapeString);
        var t = batch.Targets.Data;
        for (int i = 0; i < b; i++)
            if (!(t[i] >= 0 && t[i] < numClasses) || t[i] != MathF.Floor(t[i]))
                throw new ArgumentException($"{op}: target {t[i]} at position {i} is not a class index in [0, {numClasses - 1}]", nameof(batch));
        return (b, x.Shape[1], x.Shape[2], x.Shape[3]);
    }

    /// <summary>lam one-hot(y_i) + (1 - lam) one-hot(y_{i-1}), shape (B, K): the targets after mixing sample i with sample i - 1.</summary>
    public static Tensor SoftTargets(ReadOnlySpan<float> targets, int numClasses, double lam)
    {
        int b = targets.Length;
        var soft = new float[b * numClasses];
        for (int i = 0; i < b; i++)
        {
            int prev = (i + b - 1) % b;
            soft[i * numClasses + (int)targets[i]] += (float)lam;
            soft[i * numClasses + (int)targets[prev]] += (float)(1 - lam);
        }
        return ImageTensor.Wrap(soft, b, numClasses);
    }

    /// <summary>A Beta(alpha, alpha) variate: G1 / (G1 + G2) for Gamma(alpha) variates.</summary>
    public static double Beta(Generator g, double alpha)
    {
        double x = Gamma(g, alpha), y = Gamma(g, alpha);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    /// <summary>A Gamma(a, 1) variate by Marsaglia and Tsang (2000); for a &lt; 1, Gamma(a + 1) U^(1/a).</summary>
    static double Gamma(Generator g, double a)
    {
        if (a < 1) return Gamma(g, a + 1) * Math.Pow(g.NextDouble(), 1 / a);
        double d = a - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z = g.NextNormal(), v = 1 + c * z;
            if (v <= 0) continue;
            v = v * v * v;
            double u = g.NextDouble();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
