using System.Text.Json.Nodes;

namespace Nabla.Tests.ConformanceTests;

/// <summary>The harness itself: directory rules, loud failures, reporting, and its independence from file names.</summary>
public sealed class HarnessTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-conformance-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The vendored fixtures: always present and always holding shared.json, whatever NABLA_CONFORMANCE_DIR says.</summary>
    static string Source => Path.Combine(ConformanceSuite.RepositoryRoot(), "tests", "conformance");

    /// <summary>A new directory holding the source's tensors under another name and a manifest <paramref name="manifestName"/> with these cases.</summary>
    string CaseDirectory(string sub, string manifestName, Func<JsonArray, JsonArray> cases)
    {
        var dir = Path.Combine(_dir, sub);
        Directory.CreateDirectory(dir);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Source, "shared.json")))!.AsObject();
        File.Copy(Path.Combine(Source, manifest["tensors"]!.GetValue<string>()), Path.Combine(dir, "renamed.safetensors"));
        manifest["tensors"] = "renamed.safetensors";
        manifest["cases"] = cases(manifest["cases"]!.AsArray());
        File.WriteAllText(Path.Combine(dir, manifestName), manifest.ToJsonString());
        return dir;
    }

    static JsonObject CaseNamed(JsonArray cases, string name) =>
        cases.Single(c => c!["name"]!.GetValue<string>() == name)!.AsObject().DeepClone().AsObject();

    [Fact]
    public void EmptyDirectory_FailsLoudly_NamingTheDirectory()
    {
        var e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.Load(_dir));
        Assert.Equal($"conformance: no *.json manifest in '{_dir}'; expected at least one (set NABLA_CONFORMANCE_DIR to a directory of cases)", e.Message);
        // The test list then holds one row, which fails with that message rather than passing with zero cases.
        var rows = ConformanceCaseTests.CaseIds(() => _dir);
        Assert.Equal([ConformanceCaseTests.LoadErrorRow], rows.Cast<object[]>().Select(r => (string)r[0]).ToArray());
        var run = Assert.Throws<ConformanceSetupException>(() => ConformanceCaseTests.RunById(_dir, ConformanceCaseTests.LoadErrorRow));
        Assert.Contains(_dir, run.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDirectory_FailsLoudly()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.Load(missing));
        Assert.Equal($"conformance: the directory '{missing}' does not exist (set NABLA_CONFORMANCE_DIR)", e.Message);
    }

    [Fact]
    public void CopiedDirectory_WithOtherFileNames_RunsUnchanged()
    {
        var dir = CaseDirectory("copy", "other-name.json", cases => cases);
        var original = ConformanceSuite.Load(Source);
        var copy = ConformanceSuite.Load(dir);
        Assert.Equal(original.Select(c => c.Name), copy.Select(c => c.Name));
        Assert.All(copy, c => Assert.StartsWith("other-name/", c.Id, StringComparison.Ordinal));
        foreach (var name in new[] { "linear_a", "sigmoid_a", "tanh_a", "relu_a" })
            ConformanceCaseTests.RunById(dir, "other-name/" + name);
    }

    [Fact]
    public void SeveralManifests_AreAllRead_InNameOrder()
    {
        var dir = CaseDirectory("multi", "b.json", cases => [CaseNamed(cases, "relu_a")]);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "b.json")))!;
        var c = CaseNamed(manifest["cases"]!.AsArray(), "relu_a");
        c["name"] = "relu_b";
        manifest["cases"] = new JsonArray(c);
        File.WriteAllText(Path.Combine(dir, "a.json"), manifest.ToJsonString());
        Assert.Equal(["a/relu_b", "b/relu_a"], ConformanceSuite.Load(dir).Select(x => x.Id));
    }

    [Fact]
    public void UnregisteredOp_FailsWithTheNoImplementationMessage()
    {
        var dir = CaseDirectory("unregistered", "m.json", cases =>
        {
            var c = CaseNamed(cases, "relu_a");
            c["op"] = "no_such_op";
            return [c];
        });
        var e = Assert.Throws<ConformanceFailureException>(() => ConformanceCaseTests.RunById(dir, "m/relu_a"));
        Assert.Contains("no Nabla implementation registered for op 'no_such_op'", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("conformance case 'm/relu_a' (op 'no_such_op'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongImplementation_FailsReportingTheWorstElement()
    {
        // tanh run on sigmoid's case: the output and the gradient both differ.
        var dir = CaseDirectory("wrong", "m.json", cases =>
        {
            var c = CaseNamed(cases, "sigmoid_a");
            c["op"] = "tanh";
            return [c];
        });
        var e = Assert.Throws<ConformanceFailureException>(() => ConformanceCaseTests.RunById(dir, "m/sigmoid_a"));
        Assert.Matches(@"\n  output: \d+ of \d+ elements outside \|actual - expected\| <= 1E-05 \+ 0.0001 \* \|expected\|; worst at \[\d+(, \d+)*\]: actual ",
            e.Message);
        Assert.Contains("\n  grad.input: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RegistrationThatIgnoresAnAttrOrInput_Fails()
    {
        var dir = CaseDirectory("ignored", "m.json", cases =>
        {
            var c = CaseNamed(cases, "linear_a");
            c["attrs"] = new JsonObject { ["approximate"] = "tanh" };
            return [c];
        });
        var table = new Ops();
        table.Op("linear", a => Nn.Functional.Linear(a.In("input"), a.In("weight")));
        var e = Assert.Throws<ConformanceFailureException>(() => ConformanceRunner.Run(ConformanceSuite.Find(dir, "m/linear_a"), table));
        Assert.Contains("the registration for op 'linear' never read input(s) 'bias'", e.Message, StringComparison.Ordinal);
        Assert.Contains("the registration for op 'linear' never read attr(s) 'approximate'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownExpectedKey_Fails()
    {
        var dir = CaseDirectory("unknown", "m.json", cases =>
        {
            var c = CaseNamed(cases, "relu_a");
            c["expected"]!["hessian"] = "relu_a/expected.output";
            return [c];
        });
        var e = Assert.Throws<ConformanceFailureException>(() => ConformanceCaseTests.RunById(dir, "m/relu_a"));
        Assert.Contains("the harness does not know what to check for expected 'hessian'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadManifests_NameTheFileAndTheProblem()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{"format": "other/2", "tensors": "x.safetensors", "cases": []}""");
        var e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.Load(_dir));
        Assert.Equal($"conformance manifest '{path}': expected \"format\": \"nabla-conformance/1\"; got \"other/2\"", e.Message);

        File.WriteAllText(path, """{"format": "nabla-conformance/1", "tensors": "x.safetensors", "cases": []}""");
        e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.Load(_dir));
        Assert.Equal($"conformance manifest '{path}': its tensors file '{Path.Combine(_dir, "x.safetensors")}' does not exist", e.Message);

        File.WriteAllText(path, "{ not json");
        e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.Load(_dir));
        Assert.StartsWith($"conformance manifest '{path}': not valid JSON: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryRule_EnvironmentThenSharedThenVendored()
    {
        var repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(repo);
        Assert.Equal(Path.Combine(repo, "tests", "conformance"), ConformanceSuite.ResolveDirectory(null, repo));
        var shared = Path.Combine(_dir, "shared", "conformance");
        Directory.CreateDirectory(shared);
        Assert.Equal(shared, ConformanceSuite.ResolveDirectory("", repo));
        Assert.Equal(_dir, ConformanceSuite.ResolveDirectory(_dir, repo));
        var missing = Path.Combine(_dir, "typo");
        var e = Assert.Throws<ConformanceSetupException>(() => ConformanceSuite.ResolveDirectory(missing, repo));
        Assert.Equal($"conformance: NABLA_CONFORMANCE_DIR is '{missing}', which is not a directory", e.Message);
    }

    [Fact]
    public void VendoredCopy_MatchesTheSharedFixturesWhenBothExist()
    {
        var root = ConformanceSuite.RepositoryRoot();
        var vendored = Path.Combine(root, "tests", "conformance");
        Assert.True(File.Exists(Path.Combine(vendored, "shared.json")), $"the vendored fixtures are missing from '{vendored}'");
        var shared = Path.GetFullPath(Path.Combine(root, "..", "shared", "conformance"));
        if (!Directory.Exists(shared)) return; // a clean clone: only the vendored copy exists
        foreach (var f in new[] { "shared.json", "shared.safetensors" })
            Assert.True(File.ReadAllBytes(Path.Combine(shared, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(vendored, f))),
                $"tests/conformance/{f} differs from ../shared/conformance/{f}: copy the shared one over it");
    }

    [Fact]
    public void Fixtures_AreValidSafetensors_WithF32InputsAndF64References()
    {
        using var file = Serialization.SafeTensorsFile.Open(Path.Combine(Source, "shared.safetensors"));
        Assert.Equal("F32", file.DType("linear_a/input"));
        Assert.Equal("F64", file.DType("linear_a/expected.output"));
        Assert.Equal("I64", file.DType("cross_entropy_a_mean/target"));
        Assert.Equal(file.Shape("linear_a/grad_output"), file.Shape("linear_a/expected.output"));
    }

    // ---- comparison --------------------------------------------------------------------------

    [Fact]
    public void CompareValues_AcceptsWithinTolerance_AndReportsTheWorstElement()
    {
        double[] expected = [1.0, 100.0, -2.0, 0.0, 3.0, 4.0];
        int[] shape = [2, 3];
        // Within atol + rtol|e|: 1e-5 + 1e-4 * 100 = 0.01001 allowed on element 1.
        Assert.Null(ConformanceRunner.CompareValues("output", [1.000005f, 100.01f, -2f, 0f, 3f, 4f], shape, expected, shape, 1e-5, 1e-4));
        var msg = ConformanceRunner.CompareValues("output", [1.1f, 100f, -2f, 0.001f, 3f, 4f], shape, expected, shape, 1e-5, 1e-4);
        Assert.NotNull(msg);
        Assert.StartsWith("output: 2 of 6 elements outside |actual - expected| <= 1E-05 + 0.0001 * |expected|; worst at [0, 0]: actual 1.10000002, expected 1,",
            msg, StringComparison.Ordinal);
    }

    [Fact]
    public void CompareValues_HandlesNaNInfinityAndShape()
    {
        int[] s = [3];
        Assert.Null(ConformanceRunner.CompareValues("x", [float.NaN, float.PositiveInfinity, 1f], s, [double.NaN, double.PositiveInfinity, 1], s, 1e-5, 1e-4));
        var msg = ConformanceRunner.CompareValues("x", [1f, 2f, float.NaN], s, [1, 2, 3], s, 1e-5, 1e-4);
        Assert.StartsWith("x: 1 of 3 elements outside", msg, StringComparison.Ordinal);
        Assert.Contains("worst at [2]: actual NaN", msg, StringComparison.Ordinal);
        Assert.NotNull(ConformanceRunner.CompareValues("x", [1f, 2f, 3f], s, [1, 2, double.NegativeInfinity], s, 1e-5, 1e-4));
        Assert.Equal("x: expected shape [3]; got [1, 3]", ConformanceRunner.CompareValues("x", [1f, 2f, 3f], [1, 3], [1, 2, 3], s, 1e-5, 1e-4));
    }
}
