namespace Nabla.Tests;

internal static class TestUtil
{
    /// <summary>A tensor from values and a shape (one dimension when no shape is given).</summary>
    public static Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape);

    /// <summary>Uniform values in [lo, hi) from a seeded generator.</summary>
    public static Tensor U(ulong seed, float lo, float hi, params int[] shape)
    {
        var r = Tensor.Rand(shape, new Generator(seed));
        using (Autograd.NoGrad()) return r * (hi - lo) + lo;
    }

    public static void Close(float[] expected, Tensor actual, float tol = 1e-5f)
    {
        var a = actual.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            if (float.IsNaN(expected[i])) { Assert.True(float.IsNaN(a[i]), $"element {i}: expected NaN; got {a[i]}"); continue; }
            if (float.IsInfinity(expected[i])) { Assert.Equal(expected[i], a[i]); continue; }
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}; got {a[i]}");
        }
    }

    public static void Shape(int[] expected, Tensor t) => Assert.Equal(expected, t.Shape.ToArray());
}
