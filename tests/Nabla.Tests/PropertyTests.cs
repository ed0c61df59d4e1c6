using CsCheck;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Serialization;

namespace Nabla.Tests;

/// <summary>
/// Property tests (issue 15) with CsCheck: shapes, values and seeds are generated, and a failure is
/// shrunk to a smallest case and reported with the seed that reproduces it. Iteration counts are
/// bounded so the suite stays in seconds.
/// </summary>
public sealed class PropertyTests
{
    const int Iterations = 150;

    /// <summary>A shape of rank 0 to 4 with sides 1 to 4, and two shapes that broadcast to it (sides set to 1, leading ones dropped).</summary>
    static readonly Gen<(int[] Out, int[] A, int[] B)> BroadcastShapes =
        from full in Gen.Int[1, 4].Array[0, 4]
        from maskA in Gen.Bool.Array[full.Length]
        from maskB in Gen.Bool.Array[full.Length]
        from dropA in Gen.Int[0, full.Length]
        from dropB in Gen.Int[0, full.Length]
        select (full, Derive(full, maskA, dropA), Derive(full, maskB, dropB));

    static int[] Derive(int[] full, bool[] ones, int drop) => [.. full.Select((d, i) => ones[i] ? 1 : d).Skip(drop)];

    [Fact]
    public void Broadcasting_matches_a_naive_reference()
    {
        BroadcastShapes.Select(Gen.ULong).Sample(t =>
        {
            var ((_, sa, sb), seed) = t;
            var a = Tensor.Rand(sa, new Generator(seed));
            var b = Tensor.Rand(sb, new Generator(seed + 1));
            var sum = a + b;
            var product = a * b;
            int rank = Math.Max(sa.Length, sb.Length);
            var outShape = new int[rank];
            for (int i = 0; i < rank; i++) outShape[i] = Math.Max(Dim(sa, i, rank), Dim(sb, i, rank));
            Assert.Equal(outShape, sum.Shape.ToArray());
            var av = a.ToArray();
            var bv = b.ToArray();
            var s = sum.ToArray();
            var p = product.ToArray();
            var index = new int[rank];
            for (int flat = 0; flat < s.Length; flat++)
            {
                for (int i = rank - 1, rest = flat; i >= 0; i--) { index[i] = rest % outShape[i]; rest /= outShape[i]; }
                float x = av[Offset(sa, index)], y = bv[Offset(sb, index)];
                Assert.Equal(x + y, s[flat]);
                Assert.Equal(x * y, p[flat]);
            }
        }, iter: Iterations, threads: 1);
    }

    static int Dim(int[] shape, int i, int rank) => i - (rank - shape.Length) is int j && j >= 0 ? shape[j] : 1;

    static int Offset(int[] shape, int[] index)
    {
        int offset = 0, skip = index.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) offset = offset * shape[i] + (shape[i] == 1 ? 0 : index[skip + i]);
        return offset;
    }

    [Fact]
    public void Gemm_matches_a_double_precision_reference_for_any_shape_stride_and_transpose()
    {
        var gen = from m in Gen.Int[0, 70]
                  from n in Gen.Int[0, 70]
                  from k in Gen.Int[0, 70]
                  from transA in Gen.Bool
                  from transB in Gen.Bool
                  from pads in Gen.Int[0, 5].Array[3]
                  from betaIndex in Gen.Int[0, 2]
                  let beta = new[] { 0f, 1f, -0.5f }[betaIndex]
                  from seed in Gen.ULong
                  select (m, n, k, transA, transB, pads, beta, seed);
        gen.Sample(t =>
        {
            var (m, n, k, transA, transB, pads, beta, seed) = t;
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = Math.Max(1, aCols) + pads[0], ldb = Math.Max(1, bCols) + pads[1], ldc = Math.Max(1, n) + pads[2]; // BLAS: ld >= max(1, cols)
            var g = new Generator(seed);
            float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)g.NextDouble() * 2 - 1)];
            var a = Values(Math.Max(0, (aRows - 1) * lda + aCols));
            var b = Values(Math.Max(0, (bRows - 1) * ldb + bCols));
            var c = Values(Math.Max(0, (m - 1) * ldc + n));
            var expected = (float[])c.Clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                        sum += (double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                    expected[i * ldc + j] = (float)(0.75 * sum + (beta == 0 ? 0 : beta * (double)c[i * ldc + j]));
                }
            Gemm.Sgemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc);
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-5 * (1 + k), $"C[{i}] = {c[i]}, expected {expected[i]} (m {m}, n {n}, k {k})");
        }, iter: Iterations, threads: 1);
    }

    /// <summary>A random composition of differentiable ops over two inputs, as a small expression tree.</summary>
    static readonly Gen<int[]> Programs = Gen.Int[0, 7].Array[1, 6];

    static Tensor Compose(int[] program, Tensor x, Tensor y)
    {
        var value = x;
        foreach (int op in program)
            value = op switch
            {
                0 => Tensor.Tanh(value),
                1 => Tensor.Sigmoid(value),
                2 => value * value,
                3 => value * y,
                4 => value + y,
                5 => Tensor.Exp(value * 0.5f),
                6 => value.Sum(1, keepDim: true) * y,
                _ => Tensor.Sqrt(value * value + 1f),
            };
        return value;
    }

    [Fact]
    public void Gradients_of_random_compositions_match_numeric_differences()
    {
        var gen = from program in Programs
                  from rows in Gen.Int[1, 3]
                  from cols in Gen.Int[1, 4]
                  from seed in Gen.ULong
                  select (program, rows, cols, seed);
        gen.Sample(t =>
        {
            var (program, rows, cols, seed) = t;
            var x = Tensor.Rand([rows, cols], new Generator(seed)) - 0.5f;
            var y = Tensor.Rand([rows, cols], new Generator(seed + 1)) - 0.5f;
            GradCheck.Run(v => Compose(program, v[0], v[1]), [x.RequireGrad(), y.RequireGrad()]).Check(string.Join(",", program));
        }, iter: 60, threads: 1);
    }

    [Fact]
    public void Safetensors_save_then_load_is_the_identity_for_any_state_dict()
    {
        var tensor = from shape in Gen.Int[0, 3].Array[0, 3]
                     from seed in Gen.ULong
                     select Tensor.Rand(shape, new Generator(seed));
        var gen = from names in Gen.String[Gen.Char["abcxyz019._-"], 1, 12].HashSet[0, 6]
                  from tensors in tensor.Array[names.Count]
                  from meta in Gen.String[Gen.Char.AlphaNumeric, 0, 10].Array[0, 3]
                  select (names.ToArray(), tensors, meta);
        gen.Sample(t =>
        {
            var (names, tensors, meta) = t;
            var dict = names.Zip(tensors).Select(p => new KeyValuePair<string, Tensor>(p.First, p.Second)).ToList();
            var metadata = meta.Select((v, i) => ($"k{i}", v)).ToDictionary();
            var stream = new MemoryStream();
            SafeTensors.Save(stream, dict, metadata);
            stream.Position = 0;
            using var file = SafeTensorsFile.Read(stream);
            Assert.Equal(names.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
            Assert.Equal(metadata, file.Metadata.ToDictionary());
            foreach (var (name, value) in dict)
            {
                var back = file.ReadTensor(name);
                Assert.Equal(value.Shape.ToArray(), back.Shape.ToArray());
                Assert.Equal(value.ToArray(), back.ToArray());
            }
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void A_loader_covers_every_index_exactly_once_per_epoch()
    {
        var gen = from size in Gen.Int[1, 60]
                  from batch in Gen.Int[1, 20]
                  from workers in Gen.Int[0, 3]
                  from shuffle in Gen.Bool
                  from seed in Gen.ULong
                  select (size, batch, workers, shuffle, seed);
        gen.Sample(t =>
        {
            var (size, batch, workers, shuffle, seed) = t;
            var data = new TensorDataset(Tensor.FromArray([.. Enumerable.Range(0, size).Select(i => (float)i)], size, 1), Tensor.Zeros(size));
            var loader = new DataLoader(data, batch, shuffle: shuffle, generator: new Generator(seed), workers: workers);
            for (int epoch = 0; epoch < 2; epoch++)
            {
                var seen = loader.SelectMany(b => b.Inputs.ToArray()).Select(v => (int)v).ToList();
                Assert.Equal(Enumerable.Range(0, size), seen.Order());
                Assert.All(loader.Take(loader.Count - 1), b => Assert.Equal(batch, b.Inputs.Shape[0]));
            }
        }, iter: 80, threads: 1);
    }
}
