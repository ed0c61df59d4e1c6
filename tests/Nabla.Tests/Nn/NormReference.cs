namespace Nabla.Tests.NnTests;

/// <summary>
/// A plain double-precision reference for every normalization: element i belongs to statistic group
/// Group(i) and takes gamma and beta at Affine(i). Forward and backward written straight from the
/// definitions, independent of the fused kernels.
/// </summary>
internal sealed class NormReference(Func<int, int> group, Func<int, int> affine, int groups)
{
    public static NormReference Batch(int n, int c, int s) => new(i => i / s % c, i => i / s % c, c);
    public static NormReference Layer(int rows, int d) => new(i => i / d, i => i % d, rows);
    public static NormReference Group(int n, int c, int s, int g) => new(i => i / (c / g * s), i => i / s % c, n * g);
    public static NormReference Instance(int n, int c, int s) => new(i => i / s, i => i / s % c, n * c);

    public double[] Mean = [], Var = [];
    public int[] Count = [];

    /// <summary>The group means and biased variances of x.</summary>
    public void Stats(float[] x)
    {
        Mean = new double[groups]; Var = new double[groups]; Count = new int[groups];
        for (int i = 0; i < x.Length; i++) { Mean[group(i)] += x[i]; Count[group(i)]++; }
        for (int g = 0; g < groups; g++) Mean[g] /= Count[g];
        for (int i = 0; i < x.Length; i++) { double d = x[i] - Mean[group(i)]; Var[group(i)] += d * d; }
        for (int g = 0; g < groups; g++) Var[g] /= Count[g];
    }

    /// <summary>y = (x - mean) / sqrt(var + eps) * gamma + beta with the given (or the batch's) statistics.</summary>
    public double[] Forward(float[] x, float[]? gamma, float[]? beta, double eps, double[]? mean = null, double[]? var = null)
    {
        if (mean is null) Stats(x);
        mean ??= Mean; var ??= Var;
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group(i), a = affine(i);
            y[i] = (x[i] - mean[g]) / Math.Sqrt(var[g] + eps) * (gamma?[a] ?? 1) + (beta?[a] ?? 0);
        }
        return y;
    }

    /// <summary>dx, dgamma, dbeta of sum(y * dy) with batch statistics (the textbook batch-norm backward, per group).</summary>
    public (double[] Dx, double[] DGamma, double[] DBeta) Backward(float[] x, float[] dy, float[]? gamma, double eps, int affineSize)
    {
        Stats(x);
        var xhat = new double[x.Length];
        var sumG = new double[groups];
        var sumGX = new double[groups];
        var dGamma = new double[affineSize];
        var dBeta = new double[affineSize];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group(i), a = affine(i);
            xhat[i] = (x[i] - Mean[g]) / Math.Sqrt(Var[g] + eps);
            double gdy = dy[i] * (gamma?[a] ?? 1);
            sumG[g] += gdy;
            sumGX[g] += gdy * xhat[i];
            dGamma[a] += dy[i] * xhat[i];
            dBeta[a] += dy[i];
        }
        var dx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group(i);
            double m = Count[g], gdy = dy[i] * (gamma?[affine(i)] ?? 1);
            dx[i] = 1 / Math.Sqrt(Var[g] + eps) / m * (m * gdy - sumG[g] - xhat[i] * sumGX[g]);
        }
        return (dx, dGamma, dBeta);
    }

    /// <summary>Asserts |actual - expected| &lt;= atol + rtol |expected| element by element.</summary>
    public static void AssertClose(double[] expected, Tensor actual, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        var a = actual.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what} element {i}: expected {expected[i]}; got {a[i]}");
    }
}
