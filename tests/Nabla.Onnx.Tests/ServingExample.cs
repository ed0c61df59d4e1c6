// A program of your own that serves a model exported by `nabla export`. It needs only the
// Microsoft.ML.OnnxRuntime package: not Nabla, not Python.
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MyShop.Vision;

/// <summary>Classifies 28 x 28 grey images with a model exported by <c>nabla export</c>.</summary>
public sealed class GarmentClassifier : IDisposable
{
    readonly InferenceSession _session;

    public GarmentClassifier(string onnxPath)
    {
        _session = new InferenceSession(onnxPath);   // load once, share across requests: Run is thread-safe
        // nabla export stores the class names, in output order, in the model's metadata.
        Classes = JsonSerializer.Deserialize<string[]>(_session.ModelMetadata.CustomMetadataMap["classes"])!;
    }

    public IReadOnlyList<string> Classes { get; }

    /// <summary>Class probabilities for a batch of images, each 784 grey levels in [0, 1], row by row.</summary>
    public float[][] Predict(IReadOnlyList<float[]> images)
    {
        // The normalization is inside the model: raw pixels go in, shaped (N, 1, 28, 28).
        var input = new DenseTensor<float>(new[] { images.Count, 1, 28, 28 });
        for (int i = 0; i < images.Count; i++)
            for (int p = 0; p < 28 * 28; p++)
                input[i, 0, p / 28, p % 28] = images[i][p];
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var logits = results[0].AsTensor<float>();   // "logits", (N, classes)

        var probabilities = new float[images.Count][];
        for (int i = 0; i < images.Count; i++)
        {
            var row = Enumerable.Range(0, Classes.Count).Select(c => (double)logits[i, c]).ToArray();
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));   // softmax, stably
            probabilities[i] = row.Select(v => (float)(Math.Exp(v - max) / sum)).ToArray();
        }
        return probabilities;
    }

    public void Dispose() => _session.Dispose();
}
