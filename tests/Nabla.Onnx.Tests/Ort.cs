using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Nabla.Onnx.Tests;

/// <summary>Runs ONNX files in ONNX Runtime 1.32, the reference the exporter is checked against.</summary>
internal static class Ort
{
    /// <summary>
    /// A session with strict shape and type inference, so a graph that breaks ONNX's typing rules
    /// fails to load instead of running.
    /// </summary>
    public static InferenceSession Session(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        options.AddSessionConfigEntry("session.strict_shape_type_inference", "1");
        return new InferenceSession(model, options);
    }

    public static InferenceSession Session(string path) => Session(File.ReadAllBytes(path));

    /// <summary>The single output for the single input <paramref name="x"/>, with its shape.</summary>
    public static (float[] Values, int[] Shape) Run(InferenceSession session, Tensor x, string input = "input")
    {
        var tensor = new DenseTensor<float>(x.ToArray(), x.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)]);
        var output = results[0].AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    public static (float[] Values, int[] Shape) Run(byte[] model, Tensor x)
    {
        using var session = Session(model);
        return Run(session, x);
    }

    /// <summary>Asserts |actual - expected| &lt;= atol + rtol |expected| everywhere, naming the worst element.</summary>
    public static void AssertClose(float[] expected, float[] actual, double rtol = 1e-4, double atol = 1e-5, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double excess = Math.Abs((double)actual[i] - expected[i]) - (atol + rtol * Math.Abs(expected[i]));
            if (excess > worstExcess || double.IsNaN(actual[i]) != double.IsNaN(expected[i])) (worst, worstExcess) = (i, double.IsNaN(excess) ? 1 : excess);
        }
        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} is {actual[worst]} in ONNX Runtime and {expected[worst]} in Nabla (rtol {rtol}, atol {atol})");
    }
}
