using Nabla.Data;
using Nabla.Nn;

namespace Nabla.Cli;

/// <summary>Running a saved model over raw [0, 1] images, each model with its own normalization.</summary>
internal static class Inference
{
    /// <summary>The model's inputs: the raw images normalized with the statistics it was trained with.</summary>
    public static Tensor Inputs(SavedModel m, Tensor raw) => m.Stats.Apply(raw);

    /// <summary>Class logits (N, C) of one evaluation-mode pass, without gradients, in batches.</summary>
    public static Tensor Logits(Module model, Tensor inputs, int batchSize = 512)
    {
        int n = inputs.Shape[0];
        float[]? all = null;
        int c = 0;
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            for (int start = 0; start < n; start += batchSize)
            {
                int count = Math.Min(batchSize, n - start);
                using var scope = TensorScope.Begin();
                var logits = model.Forward(inputs.Narrow(0, start, count));
                var values = logits.ToArray();
                c = logits.Shape[1];
                all ??= new float[n * c];
                values.CopyTo(all, start * c);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return Tensor.FromArray(all ?? [], n, c);
    }

    /// <summary>The test split for evaluation: <c>--data</c>, else the default places.</summary>
    public static (TensorDataset Test, string Source) TestSet(string? dataDir)
    {
        var (_, test, source) = RunData.LoadFashionMnist(dataDir);
        return (test, source);
    }
}
