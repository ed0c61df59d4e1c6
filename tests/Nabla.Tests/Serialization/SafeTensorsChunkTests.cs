using Nabla.Serialization;

namespace Nabla.Tests.SerializationTests;

/// <summary>
/// Tensors are written and read in chunks, so tensors of more than 2 GiB (which no span of bytes can
/// hold) save and load (issue 15). The chunk is shrunk here to a few floats to exercise the loops.
/// </summary>
[Collection("SafeTensorsChunk")]
public sealed class SafeTensorsChunkTests
{
    [Theory]
    [InlineData(7, 100)]
    [InlineData(7, 7)]
    [InlineData(7, 6)]
    [InlineData(1, 3)]
    public void Tensors_round_trip_through_many_chunks(int chunk, int length)
    {
        string path = Path.Combine(Path.GetTempPath(), $"nabla-chunk-{Guid.NewGuid():N}.safetensors");
        int saved = SafeTensors.WriteChunk;
        SafeTensors.WriteChunk = chunk;
        try
        {
            var values = Enumerable.Range(0, length).Select(i => i * 0.5f - 3).ToArray();
            var tensors = new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(values, length), ["b"] = Tensor.FromArray([1f, 2f], 2) };
            SafeTensors.Save(path, tensors);
            using var file = SafeTensorsFile.Open(path);
            Assert.Equal(values, file.ReadFloat("a"));
            Assert.Equal([1f, 2f], file.ReadFloat("b"));
            Assert.Equal(8 + 4 * (length + 2), new FileInfo(path).Length - HeaderBytes(path));
        }
        finally
        {
            SafeTensors.WriteChunk = saved;
            File.Delete(path);
        }
    }

    static long HeaderBytes(string path)
    {
        using var f = File.OpenRead(path);
        var b = new byte[8];
        f.ReadExactly(b);
        return BitConverter.ToInt64(b);
    }
}
