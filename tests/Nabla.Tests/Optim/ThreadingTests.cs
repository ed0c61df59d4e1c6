using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.OptimTests;

public class ThreadingTests
{
    public static TheoryData<string> Kinds => ["sgd_momentum", "adam", "adamw", "rmsprop"];

    static float[] Run(string kind, int threads)
    {
        int saved = Threading.NumThreads;
        try
        {
            Threading.NumThreads = threads;
            // Large enough to be split into chunks (not a multiple of the chunk alignment).
            var p = new Parameter(Tensor.Randn([300_001], new Generator(11)));
            var opt = OptimizerStepTests.Make(kind, [p]);
            for (int t = 0; t < 3; t++)
            {
                p.Grad = Tensor.Randn([300_001], new Generator(20 + (ulong)t));
                opt.Step();
            }
            return p.Data.ToArray();
        }
        finally { Threading.NumThreads = saved; }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Large_parameters_update_bitwise_identically_for_any_thread_count(string kind)
    {
        var one = Run(kind, 1);
        Assert.Equal(one, Run(kind, 3));
        Assert.Equal(one, Run(kind, 8));
    }

    [Fact]
    public void A_chunked_update_matches_an_unchunked_one_element_by_element()
    {
        // The same values updated as one 300,001-element parameter (chunked) and as 19-element
        // parameters (never chunked) must agree bitwise: the chunks change nothing but who computes.
        int saved = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 4;
            var big = new Parameter(Tensor.Randn([300_001], new Generator(5)));
            var g = Tensor.Randn([300_001], new Generator(6));
            var small = Enumerable.Range(0, 5).Select(i => new Parameter(Tensor.FromArray(big.Data.ToArray().AsSpan(i * 60_000 + 123, 19).ToArray()))).ToArray();
            var optBig = new AdamW([big], lr: 1e-3);
            var optSmall = new AdamW(small, lr: 1e-3);
            big.Grad = g;
            for (int i = 0; i < 5; i++) small[i].Grad = Tensor.FromArray(g.ToArray().AsSpan(i * 60_000 + 123, 19).ToArray());
            optBig.Step();
            optSmall.Step();
            for (int i = 0; i < 5; i++)
                Assert.Equal(big.Data.ToArray().AsSpan(i * 60_000 + 123, 19).ToArray(), small[i].Data.ToArray());
        }
        finally { Threading.NumThreads = saved; }
    }
}
