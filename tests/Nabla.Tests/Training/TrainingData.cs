using Nabla.Data;
using Nabla.Nn;

namespace Nabla.Tests.TrainingTests;

/// <summary>A small two-class problem with a margin: class 1 when x0 &gt; 0, points kept 0.3 away from the boundary.</summary>
internal static class TrainingData
{
    public static TensorDataset Separable(int n, ulong seed)
    {
        var g = new Generator(seed);
        var u = Tensor.Rand([n, 2], g).ToArray();
        var x = new float[n * 2];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            float a = u[2 * i] * 2 - 1, b = u[2 * i + 1] * 2 - 1;
            y[i] = a > 0 ? 1 : 0;
            x[2 * i] = a + (a > 0 ? 0.3f : -0.3f);
            x[2 * i + 1] = b;
        }
        return new TensorDataset(Tensor.FromArray(x, n, 2), Tensor.FromArray(y, n));
    }

    /// <summary>Records the mode and the autograd state of every forward call.</summary>
    internal sealed class ModeProbe : Module
    {
        readonly Linear _fc;

        public ModeProbe(ulong seed) => _fc = Register("fc", new Linear(2, 2, generator: new Generator(seed)));

        public List<(bool Training, bool Grad)> Calls { get; } = [];

        protected override Tensor ForwardCore(Tensor input)
        {
            Calls.Add((IsTraining, Autograd.IsEnabled));
            return _fc.Forward(input);
        }
    }
}
