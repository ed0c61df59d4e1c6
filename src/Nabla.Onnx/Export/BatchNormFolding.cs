using Nabla.Nn;

namespace Nabla.Onnx.Export;

/// <summary>
/// Folds an evaluation-mode batch norm into the convolution before it: with
/// s = gamma / sqrt(running_var + eps), bn(conv(x)) = conv'(x) where W' = W s (per output channel)
/// and b' = (b - running_mean) s + beta. One node less, and the same function up to rounding.
/// </summary>
internal static class BatchNormFolding
{
    public static (float[] Weight, float[] Bias) Fold(Conv2d conv, BatchNorm2d bn)
    {
        int outChannels = conv.OutChannels;
        var w = conv.Weight.Data.ToArray();
        var bias = conv.Bias?.Data.ToArray() ?? new float[outChannels];
        var mean = bn.RunningMean!.Data.Data;
        var var = bn.RunningVar!.Data.Data;
        var gamma = bn.Weight?.Data.ToArray();
        var beta = bn.Bias?.Data.ToArray();
        int per = w.Length / outChannels;
        var b = new float[outChannels];
        for (int c = 0; c < outChannels; c++)
        {
            // In double, so the folded weights round once.
            double s = (gamma is null ? 1.0 : gamma[c]) / Math.Sqrt(var[c] + bn.Eps);
            for (int i = c * per; i < (c + 1) * per; i++) w[i] = (float)(w[i] * s);
            b[c] = (float)((bias[c] - mean[c]) * s + (beta is null ? 0.0 : beta[c]));
        }
        return (w, b);
    }
}
