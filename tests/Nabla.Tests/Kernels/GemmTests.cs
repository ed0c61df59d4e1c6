using Nabla.Kernels;

namespace Nabla.Tests.KernelsTests;

/// <summary>Tests that change process-wide settings (thread count, micro-kernel) run alone.</summary>
[CollectionDefinition("Globals", DisableParallelization = true)]
public sealed class GlobalSettingsTests;

[Collection("Globals")]
public class GemmTests
{
    static readonly int[] OddSizes = [1, 7, 17, 63, 129, 1000];

    static float[] Random(int n, int seed)
    {
        var g = new Generator((ulong)seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = g.NextSingle() * 2 - 1;
        return x;
    }

    /// <summary>C in double, and the sum of |terms| per element, which bounds float32 rounding error.</summary>
    static (double[] C, double[] Abs) Reference(bool ta, bool tb, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var r = new double[c.Length];
        var abs = new double[c.Length];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++)
                {
                    double t = (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    s += t; sa += Math.Abs(t);
                }
                double cij = beta == 0 ? 0 : beta * (double)c[i * ldc + j];
                r[i * ldc + j] = alpha * s + cij;
                abs[i * ldc + j] = Math.Abs(alpha) * sa + Math.Abs(cij);
            }
        return (r, abs);
    }

    static void CheckAgainstReference(bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad, int seed)
    {
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        var a = Random((ta ? k : m) * lda, seed);
        var b = Random((tb ? n : k) * ldb, seed + 1);
        var c = Random(m * ldc, seed + 2);
        var (expected, abs) = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        var untouched = (float[])c.Clone();
        Gemm.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int at = i * ldc + j;
                // FMA accumulation of k terms: |error| <= (k + 2) u sum|terms|, u = 2^-24.
                double tol = (k + 2) * 6e-8 * abs[at] + 1e-30;
                double err = Math.Abs(c[at] - expected[at]);
                Assert.True(err <= tol,
                    $"transA={ta} transB={tb} m={m} n={n} k={k}: C[{i},{j}] = {c[at]}, expected {expected[at]} (error {err:E2} > {tol:E2})");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.Equal(untouched[i * ldc + j], c[i * ldc + j]); // padding between rows is not written
        }
    }

    public static TheoryData<int, int, int> OddShapes()
    {
        var d = new TheoryData<int, int, int>();
        foreach (int m in OddSizes)
            foreach (int n in OddSizes)
                foreach (int k in OddSizes)
                    if ((long)m * n * k <= 2_200_000) d.Add(m, n, k); // includes 1000 x 1000 x 1 and its permutations
        return d;
    }

    [Theory]
    [MemberData(nameof(OddShapes))]
    public void MatchesNaiveReferenceForEveryTransposeCombination(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                CheckAgainstReference(ta, tb, m, n, k, alpha: 1f, beta: 0f, pad: 0, seed: m + 7 * n + 31 * k);
    }

    [Theory]
    [InlineData(0.5f, 0f)]
    [InlineData(1f, 1f)]
    [InlineData(-2f, 0.25f)]
    public void AlphaBetaAndLeadingDimensions(float alpha, float beta)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                CheckAgainstReference(ta, tb, 129, 63, 300, alpha, beta, pad: 3, seed: 5);  // k > KC: C accumulated over blocks
                CheckAgainstReference(ta, tb, 17, 1000, 17, alpha, beta, pad: 5, seed: 9);
            }
    }

    [Theory]
    [InlineData("Vector512")]
    [InlineData("Vector256")]
    [InlineData("Vector128")]
    public void EveryMicroKernelIsCorrect(string kernel)
    {
        var isa = Enum.Parse<Gemm.Isa>(kernel);
        var saved = Gemm.Selected;
        try
        {
            Gemm.Selected = isa;
            foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 17, 63), (129, 63, 300), (63, 129, 17), (300, 70, 513) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        CheckAgainstReference(ta, tb, m, n, k, 1.5f, 0.5f, pad: 1, seed: m * n + k);
        }
        finally { Gemm.Selected = saved; }
    }

    static float[] Run(bool ta, bool tb, int m, int n, int k, int threads, Gemm.Isa isa)
    {
        var savedThreads = Threading.NumThreads; var savedIsa = Gemm.Selected;
        try
        {
            Threading.NumThreads = threads;
            Gemm.Selected = isa;
            var a = Random(m * k, 1); var b = Random(k * n, 2); var c = Random(m * n, 3);
            Gemm.Sgemm(ta, tb, m, n, k, 0.75f, a, ta ? m : k, b, tb ? k : n, 0.5f, c, n);
            return c;
        }
        finally { Threading.NumThreads = savedThreads; Gemm.Selected = savedIsa; }
    }

    [Theory]
    [InlineData(300, 200, 600)]   // split over rows
    [InlineData(64, 1000, 129)]   // skinny: split over columns, B read in place
    [InlineData(1000, 63, 129)]
    [InlineData(129, 129, 1000)]
    public void ResultIsBitwiseIdenticalForAnyThreadCountAndKernel(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                var one = Run(ta, tb, m, n, k, 1, Gemm.Selected);
                foreach (int threads in new[] { 2, 3, 5 })
                    Assert.Equal(one, Run(ta, tb, m, n, k, threads, Gemm.Selected));
                // Every kernel does the same fused multiply-adds in the same order.
                Assert.Equal(one, Run(ta, tb, m, n, k, 2, Gemm.Isa.Vector256));
                Assert.Equal(one, Run(ta, tb, m, n, k, 2, Gemm.Isa.Vector128));
            }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(512 / 8, 49, 300)] // a batch-1 7 x 7 convolution's shape: few columns, k past one KC block
    [InlineData(49, 64, 300)]      // and transposed: few rows
    [InlineData(300, 200, 600)]    // split over rows: chunks start mid-matrix in the packed panels
    [InlineData(64, 1000, 129)]    // split over columns, B read in place when not packed
    [InlineData(129, 63, 513)]
    public void PrepackedOperandGivesTheUnpackedResultBitwise(int m, int n, int k)
    {
        var savedThreads = Threading.NumThreads; var savedIsa = Gemm.Selected;
        try
        {
            foreach (var isa in new[] { savedIsa, Gemm.Isa.Vector256, Gemm.Isa.Vector128 })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        foreach (int threads in new[] { 1, 2, 3 })
                        {
                            Threading.NumThreads = threads;
                            Gemm.Selected = isa;
                            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1;
                            var a = Random((ta ? k : m) * lda, m + k);
                            var b = Random((tb ? n : k) * ldb, n + 2);
                            var expected = Random(m * n, 3);
                            var c0 = (float[])expected.Clone();
                            Gemm.Sgemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, expected, n);
                            // B prepacked, A read per call (transposed or not).
                            var packedB = Gemm.Prepack(isA: false, tb, k, n, b, ldb);
                            var actual = (float[])c0.Clone();
                            Gemm.SgemmPrepacked(packedB, ta, m, 0.75f, a, lda, 0.5f, actual, n);
                            Assert.Equal(expected, actual);
                            if (tb) continue; // with A prepacked, B is read untransposed
                            var packedA = Gemm.Prepack(isA: true, ta, m, k, a, lda);
                            a.AsSpan().Fill(float.NaN); // the packed copy is all it reads
                            actual = (float[])c0.Clone();
                            Gemm.SgemmPrepacked(packedA, false, n, 0.75f, b, ldb, 0.5f, actual, n);
                            Assert.Equal(expected, actual);
                        }
        }
        finally { Threading.NumThreads = savedThreads; Gemm.Selected = savedIsa; }
    }

    [Theory]
    [InlineData(16, 512, 512)]   // one 7 x 7 image's Winograd tiles as rows
    [InlineData(49, 200, 300)]   // columns past the last whole micro-panel
    [InlineData(3, 40, 7)]
    public unsafe void ColumnRangesOfAPrepackedBMakeTheWholeProductBitwise(int m, int n, int k)
    {
        var savedIsa = Gemm.Selected;
        try
        {
            foreach (var isa in new[] { savedIsa, Gemm.Isa.Vector256, Gemm.Isa.Vector128 })
                foreach (bool ta in new[] { false, true })
                {
                    Gemm.Selected = isa;
                    int nr = Gemm.Shape(isa).Nr, lda = (ta ? m : k) + 2;
                    var a = Random((ta ? k : m) * lda, m + k);
                    var b = Random(k * n, n);
                    var expected = Random(m * n, 5);
                    var actual = (float[])expected.Clone();
                    Gemm.Sgemm(ta, false, m, n, k, 1.5f, a, lda, b, n, 0.25f, expected, n);
                    var packed = Gemm.Prepack(isA: false, false, k, n, b, n);
                    // Uneven ranges of whole micro-panels, the last one partial.
                    int[] cuts = [0, Math.Min(n, nr), Math.Min(n, 3 * nr), n];
                    fixed (float* pa = a, pc = actual)
                        for (int i = 0; i + 1 < cuts.Length; i++)
                            Gemm.RunColumns(packed, ta, m, 1.5f, pa, lda, 0.25f, pc, n, cuts[i], cuts[i + 1]);
                    Assert.Equal(expected, actual);
                }
        }
        finally { Gemm.Selected = savedIsa; }
    }

    [Theory]
    [InlineData(512, 49, 512)]   // a 512-channel Winograd product, one 7 x 7 image's tiles
    [InlineData(70, 200, 300)]   // rows past the last whole micro-panel
    [InlineData(9, 40, 7)]
    public unsafe void RowRangesOfAPrepackedAMakeTheWholeProductBitwise(int m, int n, int k)
    {
        var savedIsa = Gemm.Selected;
        try
        {
            foreach (var isa in new[] { savedIsa, Gemm.Isa.Vector256, Gemm.Isa.Vector128 })
            {
                Gemm.Selected = isa;
                int mr = Gemm.Shape(isa).Mr, ldb = n + 3;
                var a = Random(m * k, m + k);
                var b = Random(k * ldb, n);
                var expected = Random(m * n, 5);
                var actual = (float[])expected.Clone();
                Gemm.Sgemm(false, false, m, n, k, 1.5f, a, k, b, ldb, 0.25f, expected, n);
                var packed = Gemm.Prepack(isA: true, false, m, k, a, k);
                // Uneven ranges of whole micro-panels, the last one partial.
                int[] cuts = [0, Math.Min(m, mr), Math.Min(m, 3 * mr), m];
                fixed (float* pb = b, pc = actual)
                    for (int i = 0; i + 1 < cuts.Length; i++)
                        Gemm.RunRows(packed, n, 1.5f, pb, ldb, 0.25f, pc, n, cuts[i], cuts[i + 1]);
                Assert.Equal(expected, actual);
            }
        }
        finally { Gemm.Selected = savedIsa; }
    }

    [Fact]
    public unsafe void RowRangesMustStartAtAMicroPanel()
    {
        var packed = Gemm.Prepack(isA: true, false, 64, 4, Random(64 * 4, 1), 4);
        var c = new float[64 * 2];
        var b = Random(4 * 2, 2);
        int mr = Gemm.Shape(Gemm.Selected).Mr;
        var e = Assert.Throws<ArgumentException>(() => { fixed (float* pb = b, pc = c) Gemm.RunRows(packed, 2, 1f, pb, 2, 0f, pc, 2, 1, 64); });
        Assert.Contains($"i0 a multiple of {mr}", e.Message);
        Assert.Throws<ArgumentException>(() => { fixed (float* pb = b, pc = c) Gemm.RunRows(packed, 2, 1f, pb, 2, 0f, pc, 2, 0, 65); });
        var packedB = Gemm.Prepack(isA: false, false, 4, 64, Random(4 * 64, 1), 64);
        Assert.Throws<ArgumentException>(() => { fixed (float* pb = b, pc = c) Gemm.RunRows(packedB, 2, 1f, pb, 2, 0f, pc, 2, 0, 8); });
        Assert.All(c, v => Assert.Equal(0f, v)); // nothing written
    }

    [Fact]
    public unsafe void PrepackedPanelsStartOnACacheLine()
    {
        foreach (var (rows, cols) in new[] { (1, 1), (3, 7), (64, 147), (512, 4609) })
            foreach (bool isA in new[] { false, true })
            {
                var packed = Gemm.Prepack(isA, false, rows, cols, Random(rows * cols, rows + cols), cols);
                Assert.Equal(0, (long)packed.Data & 63);
            }
    }

    [Fact]
    public unsafe void ColumnRangesMustStartAtAMicroPanel()
    {
        var packed = Gemm.Prepack(isA: false, false, 4, 64, Random(4 * 64, 1), 64);
        var c = new float[2 * 64];
        var a = Random(2 * 4, 2);
        int nr = Gemm.Shape(Gemm.Selected).Nr;
        var e = Assert.Throws<ArgumentException>(() => { fixed (float* pa = a, pc = c) Gemm.RunColumns(packed, false, 2, 1f, pa, 4, 0f, pc, 64, 1, 64); });
        Assert.Contains($"j0 a multiple of {nr}", e.Message);
        Assert.Throws<ArgumentException>(() => { fixed (float* pa = a, pc = c) Gemm.RunColumns(packed, false, 2, 1f, pa, 4, 0f, pc, 64, 0, 65); });
        Assert.All(c, v => Assert.Equal(0f, v)); // nothing written
    }

    [Fact]
    public void PrepackedOperandForAnotherMicroKernelIsRefused()
    {
        var savedIsa = Gemm.Selected;
        try
        {
            var a = Random(6, 1); var b = Random(6, 2); var c = new float[4];
            Gemm.Selected = Gemm.Isa.Vector128;
            var packed = Gemm.Prepack(isA: true, false, 2, 3, a, 3);
            Gemm.Selected = Gemm.Isa.Vector256;
            var e = Assert.Throws<InvalidOperationException>(() => Gemm.SgemmPrepacked(packed, false, 2, 1f, b, 2, 0f, c, 2));
            Assert.Contains("A was packed for Vector128", e.Message);
        }
        finally { Gemm.Selected = savedIsa; }
    }

    [Fact]
    public void BetaZeroDoesNotReadC()
    {
        var a = Random(6, 1); var b = Random(6, 2);
        var c = new[] { float.NaN, float.NaN, float.PositiveInfinity, float.NaN };
        Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2);
        Assert.All(c, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void EmptySharedDimensionScalesC()
    {
        var c = new[] { 1f, 2f, 3f, 4f };
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0.5f, c, 2);
        Assert.Equal(new[] { 0.5f, 1f, 1.5f, 2f }, c);
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0f, c, 2);
        Assert.Equal(new[] { 0f, 0f, 0f, 0f }, c);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = new float[12];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 3, 4, 2, 1f, x, 1, x, 4, 0f, x, 4));
        Assert.Contains("leading dimension of A >= 2", e.Message);
        Assert.Contains("got 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 4, 4, 4, 1f, x, 4, x, 4, 0f, new float[16], 4));
        Assert.Contains("expected A to hold at least 16 elements", e.Message);
        Assert.Contains("got 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, true, 2, 2, 2, 1f, x, 2, x, 1, 0f, x, 2));
        Assert.Contains("leading dimension of B", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, -1, 2, 2, 1f, x, 2, x, 2, 0f, x, 2));
        Assert.Contains("m = -1", e.Message);
    }

    [Fact]
    public void AllocatesNothingAfterWarmUp()
    {
        var a = Random(256 * 300, 1); var b = Random(300 * 200, 2); var c = new float[256 * 200];
        for (int i = 0; i < 3; i++) Gemm.Sgemm(false, true, 256, 200, 300, 1f, a, 300, b, 300, 0f, c, 200);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) Gemm.Sgemm(false, true, 256, 200, 300, 1f, a, 300, b, 300, 0f, c, 200);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ThreadCountFromEnvironmentVariable()
    {
        Assert.Equal(3, Threading.Parse("3"));
        Assert.Equal(Environment.ProcessorCount, Threading.Parse(null));
        Assert.Equal(Environment.ProcessorCount, Threading.Parse(" "));
        var e = Assert.Throws<InvalidOperationException>(() => Threading.Parse("two"));
        Assert.Equal("NABLA_NUM_THREADS: expected a positive integer; got 'two'", e.Message);
        Assert.Throws<InvalidOperationException>(() => Threading.Parse("0"));
    }

    [Fact]
    public void ThreadCountRejectsNonsense()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Threading.NumThreads = 0);
        Assert.Contains("expected at least 1; got 0", e.Message);
    }
}
