using System.Text;

namespace Nabla.Onnx.Tests;

/// <summary>
/// ONNX's own backend node tests, a suite nobody here wrote, as the importer's conformance tests:
/// every test listed `run` in backend-node-tests.tsv matches ONNX's expected outputs at rtol 1e-4,
/// atol 1e-5; every test of a supported op is listed; docs/onnx.md's coverage table is this manifest's.
/// </summary>
public class BackendNodeTests
{
    internal sealed record Entry(string Op, string Test, string? Skip);

    internal static readonly Entry[] Manifest = [.. File.ReadAllLines(FindRepoFile("tests/Nabla.Onnx.Tests/backend-node-tests.tsv"))
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('\t'))
        .Select(p => new Entry(p[0], p[1], p[2] == "run" ? null : p[2].StartsWith("skip: ", StringComparison.Ordinal) ? p[2][6..] : throw new FormatException($"bad manifest line: {string.Join(' ', p)}")))];

    public static TheoryData<string> Runnable()
    {
        var data = new TheoryData<string>();
        foreach (var e in Manifest.Where(e => e.Skip is null)) data.Add(e.Test);
        return data;
    }

    static void RequireData()
    {
        if (!Directory.Exists(BackendNodeRunner.DataDir))
            Assert.Fail($"ONNX's backend node tests are not at {BackendNodeRunner.DataDir}: install Debian's libonnx-testdata (bash .ci/run does), or set NABLA_ONNX_TESTDATA");
    }

    [Theory]
    [MemberData(nameof(Runnable))]
    public void Node_test_passes(string test)
    {
        RequireData();
        var failure = BackendNodeRunner.Run(test);
        Assert.True(failure is null, $"{test}: {failure}");
    }

    [Fact]
    public void Every_test_of_a_supported_op_is_in_the_manifest()
    {
        RequireData();
        var supported = Import.OpRegistry.Table.Select(t => t.Op).ToHashSet(StringComparer.Ordinal);
        var listed = Manifest.Select(e => e.Test).ToHashSet(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var dir in Directory.GetDirectories(BackendNodeRunner.DataDir))
        {
            string test = Path.GetFileName(dir);
            if (!File.Exists(Path.Combine(dir, "model.onnx"))) continue;
            if (BackendNodeRunner.OpsOf(test).Any(supported.Contains) && !listed.Contains(test)) missing.Add(test);
        }
        Assert.True(missing.Count == 0, "not in backend-node-tests.tsv: " + string.Join(", ", missing));
        var absent = listed.Where(t => !Directory.Exists(Path.Combine(BackendNodeRunner.DataDir, t))).ToList();
        Assert.True(absent.Count == 0, "listed but not installed: " + string.Join(", ", absent));
    }

    [Fact]
    public void Skipped_tests_really_fail_or_are_refused()
    {
        // A skip is a statement that the case cannot pass; check it, so a stale skip is noticed.
        RequireData();
        var passing = Manifest.Where(e => e.Skip is not null).Where(e =>
        {
            try { return BackendNodeRunner.Run(e.Test) is null; }
            catch (OnnxImportException) { return false; }
        }).Select(e => e.Test).ToList();
        Assert.True(passing.Count == 0, "skipped but passing (list them as run): " + string.Join(", ", passing));
    }

    /// <summary>The coverage table of docs/onnx.md: per op, the tests that run and pass, those excluded, and why.</summary>
    internal static string CoverageTable()
    {
        var sb = new StringBuilder("| op | tests passing | tests excluded | why excluded |\n| --- | --- | --- | --- |\n");
        foreach (var group in Manifest.GroupBy(e => e.Op))
        {
            var skipped = group.Where(e => e.Skip is not null).ToList();
            string why = string.Join("; ", skipped.GroupBy(e => e.Skip).Select(g =>
                $"{string.Join(", ", g.Take(3).Select(e => $"`{e.Test}`"))}{(g.Count() > 3 ? $" and {g.Count() - 3} more" : "")}: {g.Key}"));
            sb.Append($"| {group.Key} | {group.Count(e => e.Skip is null)} | {skipped.Count} | {why} |\n");
        }
        sb.Append($"| **all** | **{Manifest.Count(e => e.Skip is null)}** | **{Manifest.Count(e => e.Skip is not null)}** | |\n");
        return sb.ToString();
    }

    const string Begin = "<!-- coverage table: generated from tests/Nabla.Onnx.Tests/backend-node-tests.tsv by BackendNodeTests -->\n";
    const string End = "<!-- end of coverage table -->";

    [Fact]
    public void Docs_coverage_table_is_the_manifests()
    {
        string path = FindRepoFile("docs/onnx.md");
        var page = File.ReadAllText(path).ReplaceLineEndings("\n");
        int b = page.IndexOf(Begin, StringComparison.Ordinal), e = page.IndexOf(End, StringComparison.Ordinal);
        Assert.True(b >= 0 && e > b, "docs/onnx.md has no coverage table markers");
        string table = CoverageTable();
        if (Environment.GetEnvironmentVariable("NABLA_WRITE_COVERAGE") == "1")
            File.WriteAllText(path, page[..(b + Begin.Length)] + table + page[e..]);
        Assert.Equal(table, page[(b + Begin.Length)..e]);
    }

    internal static string FindRepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new FileNotFoundException(relative);
    }
}
