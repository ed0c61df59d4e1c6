using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Tests.DataTests;

public sealed class ChannelStatsTests
{
    // (N = 2, C = 2, 2 values each): channel 0 holds 1, 2, 3, 4; channel 1 is constant 10.
    static Tensor Batch() => Tensor.FromArray([1f, 2f, 10f, 10f, 3f, 4f, 10f, 10f], 2, 2, 2);

    [Fact]
    public void Computes_the_population_mean_and_std_per_channel()
    {
        var s = ChannelStats.Compute(Batch());
        Assert.Equal(2, s.Channels);
        Assert.Equal([2.5f, 10f], s.Mean.ToArray());
        // sqrt(((1.5)^2 + (0.5)^2 + (0.5)^2 + (1.5)^2) / 4) = sqrt(1.25); a constant channel gets std 1.
        Assert.Equal([MathF.Sqrt(1.25f), 1f], s.Std.ToArray());
    }

    [Fact]
    public void Apply_normalizes_each_channel()
    {
        var s = ChannelStats.Compute(Batch());
        var y = s.Apply(Batch());
        float r = MathF.Sqrt(1.25f);
        TestUtil.Close([-1.5f / r, -0.5f / r, 0, 0, 0.5f / r, 1.5f / r, 0, 0], y);
        var again = ChannelStats.Compute(y);
        TestUtil.Close([0f, 0f], again.Mean, 1e-6f);
        TestUtil.Close([1f, 1f], again.Std, 1e-6f);
    }

    [Fact]
    public void A_large_mean_does_not_swamp_a_small_spread()
    {
        // float32 holds 1e6 and 1e6 + 1 exactly; E[x^2] - E[x]^2 in float would lose the 0.25 variance.
        var x = Tensor.FromArray(Enumerable.Range(0, 1000).Select(i => 1e6f + (i % 2)).ToArray(), 1000, 1);
        var s = ChannelStats.Compute(x);
        Assert.Equal(1e6f + 0.5f, s.Mean.Item());
        Assert.Equal(0.5f, s.Std.Item());
    }

    [Fact]
    public void Dataset_statistics_match_the_tensor_of_the_same_samples()
    {
        var x = Tensor.Randn([30, 3, 4, 4], new Generator(5));
        var ds = new TensorDataset(x, Tensor.Zeros(30));
        var whole = ChannelStats.Compute(x);
        var general = ChannelStats.Compute(FuncDataset.Wrap(ds));
        TestUtil.Close(whole.Mean.ToArray(), general.Mean, 1e-6f);
        TestUtil.Close(whole.Std.ToArray(), general.Std, 1e-6f);

        var train = Dataset.RandomSplit(ds, [20, 10], new Generator(1))[0];
        var rows = new float[20 * 48];
        for (int k = 0; k < 20; k++) x.Data.Slice(train.Indices[k] * 48, 48).CopyTo(rows.AsSpan(k * 48));
        var expected = ChannelStats.Compute(Tensor.FromArray(rows, 20, 3, 4, 4));
        var fromSplit = ChannelStats.Compute(train);
        TestUtil.Close(expected.Mean.ToArray(), fromSplit.Mean, 1e-6f);
        TestUtil.Close(expected.Std.ToArray(), fromSplit.Std, 1e-6f);
        TestUtil.Close(expected.Mean.ToArray(), ChannelStats.Compute(FuncDataset.Wrap(train)).Mean, 1e-6f);
    }

    [Fact]
    public void Saved_with_a_model_the_statistics_apply_exactly_the_same()
    {
        var stats = ChannelStats.Compute(Tensor.Randn([16, 3, 2, 2], new Generator(2)));
        var model = new Linear(12, 2);
        var checkpoint = model.StateDict();
        foreach (var (k, v) in stats.ToStateDict()) checkpoint.Add(k, v);
        Assert.Contains("normalize.mean", checkpoint.Keys);
        Assert.Contains("normalize.std", checkpoint.Keys);

        var path = Path.Combine(Path.GetTempPath(), $"nabla-stats-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, checkpoint);
            var loaded = SafeTensors.Load(path);
            var restored = ChannelStats.FromStateDict(loaded);
            var x = Tensor.Randn([4, 3, 2, 2], new Generator(3));
            Assert.Equal(stats.Apply(x).ToArray(), restored.Apply(x).ToArray());
            var result = new Linear(12, 2).LoadStateDict(loaded, strict: false);
            Assert.Equal(["normalize.mean", "normalize.std"], result.UnexpectedKeys);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Errors_name_the_problem()
    {
        Assert.StartsWith("ChannelStats.FromStateDict: missing key(s): \"stats.std\"",
            Assert.Throws<ArgumentException>(() => ChannelStats.FromStateDict(
                new Dictionary<string, Tensor> { ["stats.mean"] = Tensor.Zeros(3) }, "stats")).Message);
        Assert.StartsWith("ChannelStats: expected a finite positive std for every channel; got 0 for channel 1",
            Assert.Throws<ArgumentException>(() => new ChannelStats(Tensor.Zeros(2), Tensor.FromArray([1f, 0f]))).Message);
        Assert.Equal("ChannelStats: expected mean and std of the same shape (C); got mean [3] and std [2]",
            Assert.Throws<ShapeException>(() => new ChannelStats(Tensor.Zeros(3), Tensor.Ones(2))).Message);
        var s = new ChannelStats(Tensor.Zeros(3), Tensor.Ones(3));
        Assert.Equal("ChannelStats.Apply: expected input of shape (N, 3, ...); got [4, 1, 28, 28]",
            Assert.Throws<ShapeException>(() => s.Apply(Tensor.Zeros(4, 1, 28, 28))).Message);
        Assert.Equal("ChannelStats.Compute: expected a non-empty batch of shape (N, C, ...); got [5]",
            Assert.Throws<ShapeException>(() => ChannelStats.Compute(Tensor.Zeros(5))).Message);
        Assert.StartsWith("ChannelStats.Compute: channel 0 holds non-finite values (NaN or infinity)",
            Assert.Throws<ArgumentException>(() => ChannelStats.Compute(Tensor.FromArray([1f, float.NaN], 2, 1))).Message);
    }
}
