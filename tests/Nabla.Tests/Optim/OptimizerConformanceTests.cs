using System.Buffers.Binary;
using System.Text.Json;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.OptimTests;

/// <summary>
/// The optimizer cases of the conformance fixtures (libtorch 2.10, float64 from float32 inputs): every
/// case of op sgd, adam, adamw and rmsprop in every manifest, step k applying gradient k.
/// </summary>
public class OptimizerConformanceTests
{
    const double Rtol = 1e-4, Atol = 1e-5;

    static string? FindDir()
    {
        var env = Environment.GetEnvironmentVariable("NABLA_CONFORMANCE_DIR");
        if (!string.IsNullOrEmpty(env)) return env;
        // ../shared/conformance beside the repository; from a worktree, further up.
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "shared", "conformance");
            if (File.Exists(Path.Combine(candidate, "shared.json"))) return candidate;
        }
        return null;
    }

    sealed record Fixture(JsonElement Case, Dictionary<string, (int[] Shape, double[] Data)> Tensors);

    static List<Fixture> Load()
    {
        var dir = FindDir() ?? throw new InvalidOperationException(
            "conformance fixtures not found\nhint: set NABLA_CONFORMANCE_DIR to the folder holding shared.json");
        var list = new List<Fixture>();
        foreach (var manifest in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(manifest));
            var tensors = ReadSafetensors(Path.Combine(dir, doc.RootElement.GetProperty("tensors").GetString()!));
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
                if (c.GetProperty("op").GetString() is "sgd" or "adam" or "adamw" or "rmsprop")
                    list.Add(new Fixture(c.Clone(), tensors));
        }
        return list;
    }

    static Dictionary<string, (int[] Shape, double[] Data)> ReadSafetensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var result = new Dictionary<string, (int[], double[])>();
        foreach (var e in header.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__") continue;
            var dtype = e.Value.GetProperty("dtype").GetString();
            var shape = e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var off = e.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            int start = (int)(8 + n + off[0]), length = (int)(off[1] - off[0]);
            double[] data = dtype switch
            {
                "F32" => Enumerable.Range(0, length / 4).Select(i => (double)BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start + 4 * i))).ToArray(),
                "F64" => Enumerable.Range(0, length / 8).Select(i => BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(start + 8 * i))).ToArray(),
                _ => [],
            };
            result[e.Name] = (shape, data);
        }
        return result;
    }

    static Tensor ToTensor((int[] Shape, double[] Data) t) => Tensor.FromArray(t.Data.Select(v => (float)v).ToArray(), t.Shape);

    static Optimizer Make(string op, JsonElement a, Parameter p)
    {
        double D(string k) => a.GetProperty(k).GetDouble();
        return op switch
        {
            "sgd" => new Sgd([p], lr: D("lr"), momentum: D("momentum"), dampening: D("dampening"),
                weightDecay: D("weight_decay"), nesterov: a.GetProperty("nesterov").GetBoolean()),
            "adam" => new Adam([p], lr: D("lr"), beta1: D("beta1"), beta2: D("beta2"), eps: D("eps"), weightDecay: D("weight_decay")),
            "adamw" => new AdamW([p], lr: D("lr"), beta1: D("beta1"), beta2: D("beta2"), eps: D("eps"), weightDecay: D("weight_decay")),
            "rmsprop" => new RmsProp([p], lr: D("lr"), alpha: D("alpha"), eps: D("eps"), weightDecay: D("weight_decay"),
                momentum: D("momentum"), centered: a.GetProperty("centered").GetBoolean()),
            _ => throw new ArgumentException(op),
        };
    }

    [Fact]
    public void Every_optimizer_case_matches_libtorch()
    {
        var fixtures = Load();
        var ops = fixtures.Select(f => f.Case.GetProperty("op").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "sgd", "adam", "adamw", "rmsprop" }, ops);
        var failures = new List<string>();
        foreach (var f in fixtures)
        {
            string name = f.Case.GetProperty("name").GetString()!;
            var inputs = f.Case.GetProperty("inputs");
            var p = new Parameter(ToTensor(f.Tensors[inputs.GetProperty("param").GetString()!]));
            var opt = Make(f.Case.GetProperty("op").GetString()!, f.Case.GetProperty("attrs"), p);
            var grads = inputs.GetProperty("grads").EnumerateArray().Select(g => g.GetString()!).ToArray();
            var expected = f.Case.GetProperty("expected").GetProperty("param.after").EnumerateArray().Select(g => g.GetString()!).ToArray();
            Assert.Equal(grads.Length, expected.Length);
            for (int k = 0; k < grads.Length; k++)
            {
                p.Grad = ToTensor(f.Tensors[grads[k]]);
                opt.Step();
                var want = f.Tensors[expected[k]].Data;
                var got = p.Data.ToArray();
                int worst = -1;
                double worstErr = 0;
                for (int i = 0; i < got.Length; i++)
                {
                    double err = Math.Abs(got[i] - want[i]) - (Atol + Rtol * Math.Abs(want[i]));
                    if (err > worstErr) { worstErr = err; worst = i; }
                }
                if (worst >= 0) failures.Add($"{name} step {k}: element {worst} expected {want[worst]}; got {got[worst]}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
