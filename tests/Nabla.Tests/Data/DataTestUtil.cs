using Nabla.Data;

namespace Nabla.Tests.DataTests;

/// <summary>A dataset computed by a function, to exercise the loader's general (non-tensor) path.</summary>
internal sealed class FuncDataset(int count, Func<int, Sample> get) : IDataset
{
    int _gets;

    public int Count => count;

    /// <summary>How many times <see cref="Get"/> has been called, from any thread.</summary>
    public int Gets => Volatile.Read(ref _gets);

    public Sample Get(int index)
    {
        Interlocked.Increment(ref _gets);
        return get(index);
    }

    /// <summary>The same samples as <paramref name="d"/>, but without the tensor fast path.</summary>
    public static FuncDataset Wrap(IDataset d) => new(d.Count, d.Get);
}

internal static class DataTestUtil
{
    /// <summary>A tensor dataset of n samples: input i is (3) with values 10i, 10i+1, 10i+2; target i is i mod classes.</summary>
    public static TensorDataset Numbered(int n, int classes = 3)
    {
        var x = new float[n * 3];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 3; j++) x[3 * i + j] = 10 * i + j;
            y[i] = i % classes;
        }
        return new TensorDataset(Tensor.FromArray(x, n, 3), Tensor.FromArray(y));
    }

    /// <summary>The sample indices of a batch from <see cref="Numbered"/> (input row values / 10).</summary>
    public static int[] IndicesOf(Batch b)
    {
        var x = b.Inputs.ToArray();
        var r = new int[b.Size];
        for (int k = 0; k < r.Length; k++) r[k] = (int)x[3 * k] / 10;
        return r;
    }

    public static List<(float[] X, float[] Y, int[] XShape, int[] YShape)> Snapshot(IEnumerable<Batch> loader) =>
        loader.Select(b => (b.Inputs.ToArray(), b.Targets.ToArray(), b.Inputs.Shape.ToArray(), b.Targets.Shape.ToArray())).ToList();

    public static void BitwiseEqual(List<(float[] X, float[] Y, int[] XShape, int[] YShape)> a, List<(float[] X, float[] Y, int[] XShape, int[] YShape)> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].XShape, b[i].XShape);
            Assert.Equal(a[i].YShape, b[i].YShape);
            Assert.Equal(a[i].X.Select(BitConverter.SingleToInt32Bits), b[i].X.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(a[i].Y.Select(BitConverter.SingleToInt32Bits), b[i].Y.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
