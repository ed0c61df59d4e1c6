using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

/// <summary>
/// The machine's fused multiply-add ceiling: 24 independent Vector512 FMA chains (enough to hide
/// the latency on any current core), on one thread and on every requested thread at once. It is
/// the yardstick for the GEMM figures: no matrix product can beat it.
/// </summary>
static class FmaPeak
{
    public static void Run(double seconds, int threads)
    {
        const int Steps = 20_000_000;
        Loop(1000, 1f);
        foreach (int t in threads == 1 ? new[] { 1 } : new[] { 1, threads })
        {
            double best = 0;
            var total = Stopwatch.StartNew();
            while (total.Elapsed.TotalSeconds < seconds)
            {
                var sw = Stopwatch.StartNew();
                Parallel.For(0, t, new ParallelOptions { MaxDegreeOfParallelism = t }, _ => Loop(Steps, 1f));
                best = Math.Max(best, t * 2.0 * 16 * 24 * Steps / sw.Elapsed.TotalSeconds / 1e9);
            }
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { engine = "nabla", workload = "fma_peak", threads = t, gflops = Math.Round(best, 1) }));
            if (t == threads) FlopCount.Peak = best;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Loop(int n, float x)
    {
        var v = Vector512.Create(x);
        var m = Vector512.Create(1.0000001f);
        var a0 = v + Vector512.Create((float)0);
        var a1 = v + Vector512.Create((float)1);
        var a2 = v + Vector512.Create((float)2);
        var a3 = v + Vector512.Create((float)3);
        var a4 = v + Vector512.Create((float)4);
        var a5 = v + Vector512.Create((float)5);
        var a6 = v + Vector512.Create((float)6);
        var a7 = v + Vector512.Create((float)7);
        var a8 = v + Vector512.Create((float)8);
        var a9 = v + Vector512.Create((float)9);
        var a10 = v + Vector512.Create((float)10);
        var a11 = v + Vector512.Create((float)11);
        var a12 = v + Vector512.Create((float)12);
        var a13 = v + Vector512.Create((float)13);
        var a14 = v + Vector512.Create((float)14);
        var a15 = v + Vector512.Create((float)15);
        var a16 = v + Vector512.Create((float)16);
        var a17 = v + Vector512.Create((float)17);
        var a18 = v + Vector512.Create((float)18);
        var a19 = v + Vector512.Create((float)19);
        var a20 = v + Vector512.Create((float)20);
        var a21 = v + Vector512.Create((float)21);
        var a22 = v + Vector512.Create((float)22);
        var a23 = v + Vector512.Create((float)23);
        for (int i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, v);
            a1 = Vector512.FusedMultiplyAdd(a1, m, v);
            a2 = Vector512.FusedMultiplyAdd(a2, m, v);
            a3 = Vector512.FusedMultiplyAdd(a3, m, v);
            a4 = Vector512.FusedMultiplyAdd(a4, m, v);
            a5 = Vector512.FusedMultiplyAdd(a5, m, v);
            a6 = Vector512.FusedMultiplyAdd(a6, m, v);
            a7 = Vector512.FusedMultiplyAdd(a7, m, v);
            a8 = Vector512.FusedMultiplyAdd(a8, m, v);
            a9 = Vector512.FusedMultiplyAdd(a9, m, v);
            a10 = Vector512.FusedMultiplyAdd(a10, m, v);
            a11 = Vector512.FusedMultiplyAdd(a11, m, v);
            a12 = Vector512.FusedMultiplyAdd(a12, m, v);
            a13 = Vector512.FusedMultiplyAdd(a13, m, v);
            a14 = Vector512.FusedMultiplyAdd(a14, m, v);
            a15 = Vector512.FusedMultiplyAdd(a15, m, v);
            a16 = Vector512.FusedMultiplyAdd(a16, m, v);
            a17 = Vector512.FusedMultiplyAdd(a17, m, v);
            a18 = Vector512.FusedMultiplyAdd(a18, m, v);
            a19 = Vector512.FusedMultiplyAdd(a19, m, v);
            a20 = Vector512.FusedMultiplyAdd(a20, m, v);
            a21 = Vector512.FusedMultiplyAdd(a21, m, v);
            a22 = Vector512.FusedMultiplyAdd(a22, m, v);
            a23 = Vector512.FusedMultiplyAdd(a23, m, v);
        }
        return (a0+a1+a2+a3+a4+a5+a6+a7+a8+a9+a10+a11+a12+a13+a14+a15+a16+a17+a18+a19+a20+a21+a22+a23).GetElement(0);
    }
}
