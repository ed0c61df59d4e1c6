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

    /// <summary>Uniform values in [lo, hi) that require a gradient: a gradient check's input.</summary>
    public static Tensor G(ulong seed, float lo, float hi, params int[] shape) => U(seed, lo, hi, shape).RequireGrad();

    /// <summary>Values with |x| in [lo, hi) and alternating signs: away from kinks at 0 (ReLU, abs).</summary>
    public static Tensor AwayFromZero(ulong seed, float lo, float hi, params int[] shape)
    {
        var u = U(seed, lo, hi, shape).ToArray();
        for (int i = 0; i < u.Length; i += 2) u[i] = -u[i];
        return Tensor.FromArray(u, shape).RequireGrad();
    }

    /// <summary>Distinct values (a shuffled ramp): no ties, so max, min and sort are differentiable.</summary>
    public static Tensor Distinct(ulong seed, params int[] shape)
    {
        int n = Tensor.Zeros(shape).Numel;
        var v = new float[n];
        var gen = new Generator(seed);
        for (int i = 0; i < n; i++) v[i] = (i - n / 2) * 0.37f;
        for (int i = n - 1; i > 0; i--) { int j = (int)gen.NextInt64(0, i + 1); (v[i], v[j]) = (v[j], v[i]); }
        return Tensor.FromArray(v, shape).RequireGrad();
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
