using Nabla.Onnx.Import;
using Onnx;

namespace Nabla.Onnx.Tests;

/// <summary>Runs one of ONNX's backend node tests: model.onnx on each test_data_set_N, outputs compared at rtol 1e-4, atol 1e-5.</summary>
internal static class BackendNodeRunner
{
    /// <summary>Where Debian's libonnx-testdata installs the node tests (NABLA_ONNX_TESTDATA overrides).</summary>
    public static string DataDir =>
        Environment.GetEnvironmentVariable("NABLA_ONNX_TESTDATA") is { Length: > 0 } d ? d : "/usr/share/libonnx-testdata/data/node";

    /// <summary>The op types of a test's model.</summary>
    public static string[] OpsOf(string test)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(DataDir, test, "model.onnx")));
        return [.. model.Graph.Node.Select(n => n.OpType).Distinct()];
    }

    /// <summary>Runs the test; returns null when every output matches, else what differed.</summary>
    public static string? Run(string test)
    {
        string dir = Path.Combine(DataDir, test);
        var model = OnnxModule.LoadForBackendTest(Path.Combine(dir, "model.onnx"));
        var sets = Directory.GetDirectories(dir, "test_data_set_*").Order(StringComparer.Ordinal).ToArray();
        if (sets.Length == 0) return "no test_data_set folder";
        foreach (var set in sets)
        {
            var inputs = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
            for (int i = 0; File.Exists(Path.Combine(set, $"input_{i}.pb")); i++)
            {
                var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(set, $"input_{i}.pb")));
                string name = proto.Name.Length > 0 && model.Inputs.Any(x => x.Name == proto.Name) ? proto.Name : model.Inputs[i].Name;
                inputs[name] = TensorReader.Read(proto, $"{test} input {i}", null);
            }
            var outputs = model.GraphOutputs.ToArray();
            var actual = model.RunValues(inputs, outputs);
            for (int i = 0; i < outputs.Length; i++)
            {
                var expected = TensorReader.Read(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(set, $"output_{i}.pb"))), $"{test} output {i}", null);
                var got = actual[outputs[i]];
                if (!got.Shape.SequenceEqual(expected.Shape))
                    return $"output {i}: shape [{string.Join(", ", got.Shape)}], expected [{string.Join(", ", expected.Shape)}]";
                if (!expected.IsFloat)
                {
                    if (!got.AsInts().SequenceEqual(expected.Ints!)) return $"output {i}: int64 values differ";
                    continue;
                }
                var (e, a) = (expected.Float!.ToArray(), got.AsTensor().ToArray());
                for (int k = 0; k < e.Length; k++)
                {
                    bool bothNan = float.IsNaN(e[k]) && float.IsNaN(a[k]);
                    if (!bothNan && !(Math.Abs((double)a[k] - e[k]) <= 1e-5 + 1e-4 * Math.Abs(e[k])))
                        return $"output {i}[{k}] = {a[k]}, expected {e[k]} (rtol 1e-4, atol 1e-5)";
                }
            }
        }
        return null;
    }
}
