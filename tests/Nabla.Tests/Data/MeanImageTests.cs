using Nabla.Data;
using Nabla.Serialization;

namespace Nabla.Tests.DataTests;

public sealed class MeanImageTests
{
    // N = 3 samples of shape (1, 2, 2): [1, 2, 3, 4], [3, 2, 1, 0], [2, 8, 5, 2].
    static Tensor Batch() => Tensor.FromArray([1f, 2, 3, 4, 3, 2, 1, 0, 2, 8, 5, 2], 3, 1, 2, 2);

    [Fact]
    public void Computes_the_mean_of_each_position()
    {
        var m = MeanImage.Compute(Batch());
        Assert.Equal([1, 2, 2], m.Mean.Shape.ToArray());
        Assert.Equal([2f, 4f, 3f, 2f], m.Mean.ToArray());
    }

    [Fact]
    public void Apply_subtracts_from_a_sample_and_from_each_sample_of_a_batch()
    {
        var m = MeanImage.Compute(Batch());
        var centred = m.Apply(Batch());
        Assert.Equal([-1f, -2, 0, 2, 1, -2, -2, -2, 0, 4, 2, 0], centred.ToArray());
        Assert.Equal([0f, 0, 0, 0], MeanImage.Compute(centred).Mean.ToArray());
        var one = m.Apply(Tensor.FromArray([5f, 5, 5, 5], 1, 2, 2));
        Assert.Equal([1, 2, 2], one.Shape.ToArray());
        Assert.Equal([3f, 1, 2, 3], one.ToArray());
    }

    [Fact]
    public void Dataset_and_split_give_the_mean_of_their_samples()
    {
        var x = Tensor.Randn([12, 3, 4, 4], new Generator(5));
        var ds = new TensorDataset(x, Tensor.Zeros(12));
        var whole = MeanImage.Compute(x);
        TestUtil.Close(whole.Mean.ToArray(), MeanImage.Compute(FuncDataset.Wrap(ds)).Mean, 1e-6f);

        var train = Dataset.RandomSplit(ds, [8, 4], new Generator(1))[0];
        var expected = new float[48];
        for (int k = 0; k < 8; k++)
            for (int j = 0; j < 48; j++) expected[j] += x.Data[train.Indices[k] * 48 + j] / 8;
        TestUtil.Close(expected, MeanImage.Compute(train).Mean, 1e-5f);
        TestUtil.Close(expected, MeanImage.Compute(FuncDataset.Wrap(train)).Mean, 1e-5f);
    }

    [Fact]
    public void Saved_and_restored_the_mean_applies_the_same()
    {
        var m = MeanImage.Compute(Tensor.Randn([6, 3, 2, 2], new Generator(2)));
        var dict = m.ToStateDict();
        Assert.Equal(["mean_image.mean"], dict.Keys.ToArray());
        var path = Path.Combine(Path.GetTempPath(), $"nabla-mean-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, dict);
            var restored = MeanImage.FromStateDict(SafeTensors.Load(path));
            var x = Tensor.Randn([2, 3, 2, 2], new Generator(3));
            Assert.Equal(m.Apply(x).ToArray(), restored.Apply(x).ToArray());
        }
        finally { File.Delete(path); }
        var ex = Assert.Throws<ArgumentException>(() => MeanImage.FromStateDict(dict, "other"));
        Assert.StartsWith("MeanImage.FromStateDict: missing key(s): \"other.mean\"", ex.Message);
    }

    [Fact]
    public void Bad_inputs_throw_with_clear_messages()
    {
        var m = MeanImage.Compute(Batch());
        var shape = Assert.Throws<ShapeException>(() => m.Apply(Tensor.Zeros(2, 1, 3, 3)));
        Assert.StartsWith("MeanImage.Apply: expected input of shape [1, 2, 2] or (N, 1, 2, 2); got [2, 1, 3, 3]", shape.Message);
        var empty = Assert.Throws<ShapeException>(() => MeanImage.Compute(Tensor.Zeros(4)));
        Assert.StartsWith("MeanImage.Compute: expected a non-empty batch of shape (N, C, H, W) (or (N, ...)); got [4]", empty.Message);
        var mixed = new FuncDataset(2, i => new Sample(Tensor.Zeros(i == 0 ? 2 : 3), Tensor.Zeros(1)));
        var ex = Assert.Throws<ShapeException>(() => MeanImage.Compute(mixed));
        Assert.StartsWith("MeanImage.Compute: expected every input of the first one's shape [2]; got [3] at index 1", ex.Message);
        var nan = Assert.Throws<ArgumentException>(() => MeanImage.Compute(Tensor.FromArray([float.NaN, 1f], 2, 1)));
        Assert.StartsWith("MeanImage.Compute: the inputs hold non-finite values (NaN or infinity) at flat position 0", nan.Message);
        var none = Assert.Throws<ArgumentException>(() => MeanImage.Compute(new FuncDataset(0, _ => throw new InvalidOperationException())));
        Assert.StartsWith("MeanImage.Compute: expected a non-empty dataset; got 0 samples", none.Message);
    }
}
