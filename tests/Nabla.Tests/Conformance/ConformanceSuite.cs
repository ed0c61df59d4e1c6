using System.Collections.Concurrent;
using System.Text.Json;
using Nabla.Serialization;

namespace Nabla.Tests.ConformanceTests;

/// <summary>Thrown when the conformance directory or a manifest cannot be used; the message names the path.</summary>
public sealed class ConformanceSetupException(string message) : Exception(message);

/// <summary>One case of a manifest (see tests/conformance/README.md for the format).</summary>
/// <param name="Id">"manifest/case", unique across the directory: the test case's name.</param>
/// <param name="Name">The case's name within its manifest.</param>
/// <param name="Op">The operator, e.g. <c>conv2d</c>.</param>
/// <param name="ManifestPath">The manifest it came from.</param>
/// <param name="TensorsPath">Its safetensors file.</param>
/// <param name="Attrs">The attributes (a JSON object).</param>
/// <param name="Inputs">Role to tensor key, for single tensors.</param>
/// <param name="InputLists">Role to tensor keys, for lists (an optimizer's <c>grads</c>).</param>
/// <param name="GradOutput">The key of the output gradient, or null (scalar outputs seed 1).</param>
/// <param name="Expected">What to check to tensor key, for single tensors.</param>
/// <param name="ExpectedLists">What to check to tensor keys, for lists (<c>param.after</c>).</param>
internal sealed record ConformanceCase(
    string Id, string Name, string Op, string ManifestPath, string TensorsPath, JsonElement Attrs,
    IReadOnlyDictionary<string, string> Inputs, IReadOnlyDictionary<string, string[]> InputLists, string? GradOutput,
    IReadOnlyDictionary<string, string> Expected, IReadOnlyDictionary<string, string[]> ExpectedLists)
{
    public override string ToString() => Id;
}

/// <summary>
/// Finds the conformance directory and reads every <c>*.json</c> manifest in it. The directory is
/// <c>NABLA_CONFORMANCE_DIR</c> if set; else <c>../shared/conformance</c> beside the repository if it
/// exists (the source of truth); else the vendored copy in <c>tests/conformance</c>, so a clean
/// clone in CI still runs every case.
/// </summary>
internal static class ConformanceSuite
{
    public const string EnvironmentVariable = "NABLA_CONFORMANCE_DIR";
    public const string Format = "nabla-conformance/1";

    static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<ConformanceCase>>> s_suites = new(StringComparer.Ordinal);
    static readonly ConcurrentDictionary<string, Lazy<SafeTensorsFile>> s_files = new(StringComparer.Ordinal);

    /// <summary>The directory the suite runs, per the rule above.</summary>
    public static string DefaultDirectory() =>
        ResolveDirectory(Environment.GetEnvironmentVariable(EnvironmentVariable), RepositoryRoot());

    /// <summary>The rule, with its inputs explicit (so it can be tested).</summary>
    public static string ResolveDirectory(string? environmentValue, string repositoryRoot)
    {
        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            var dir = Path.GetFullPath(environmentValue);
            // A set variable is never silently replaced by a fallback: a typo must not run other cases.
            if (!Directory.Exists(dir))
                throw new ConformanceSetupException($"conformance: {EnvironmentVariable} is '{environmentValue}', which is not a directory");
            return dir;
        }
        var shared = Path.GetFullPath(Path.Combine(repositoryRoot, "..", "shared", "conformance"));
        if (Directory.Exists(shared)) return shared;
        return Path.GetFullPath(Path.Combine(repositoryRoot, "tests", "conformance"));
    }

    /// <summary>The folder holding Nabla.slnx, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Nabla.slnx"))) return dir.FullName;
        throw new ConformanceSetupException($"conformance: no folder holding Nabla.slnx above '{AppContext.BaseDirectory}'");
    }

    /// <summary>Every case of every manifest in <paramref name="directory"/> (cached); throws if there are none.</summary>
    public static IReadOnlyList<ConformanceCase> Load(string directory)
    {
        var full = Path.GetFullPath(directory);
        var lazy = s_suites.GetOrAdd(full, d => new Lazy<IReadOnlyList<ConformanceCase>>(() => LoadUncached(d)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            s_suites.TryRemove(full, out _); // a fixed directory is read again next time
            throw;
        }
    }

    /// <summary>The case with <paramref name="id"/> ("manifest/case") in <paramref name="directory"/>.</summary>
    public static ConformanceCase Find(string directory, string id)
    {
        foreach (var c in Load(directory))
            if (c.Id == id) return c;
        throw new ConformanceSetupException($"conformance: no case '{id}' in '{directory}'");
    }

    /// <summary>The validated safetensors file of a manifest, read once into memory.</summary>
    public static SafeTensorsFile Tensors(string path) =>
        s_files.GetOrAdd(path, p => new Lazy<SafeTensorsFile>(() =>
            SafeTensorsFile.Read(new MemoryStream(File.ReadAllBytes(p), writable: false), p))).Value;

    static List<ConformanceCase> LoadUncached(string dir)
    {
        if (!Directory.Exists(dir))
            throw new ConformanceSetupException($"conformance: the directory '{dir}' does not exist (set {EnvironmentVariable})");
        var manifests = Directory.GetFiles(dir, "*.json");
        Array.Sort(manifests, StringComparer.Ordinal);
        if (manifests.Length == 0)
            throw new ConformanceSetupException(
                $"conformance: no *.json manifest in '{dir}'; expected at least one (set {EnvironmentVariable} to a directory of cases)");
        var cases = new List<ConformanceCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in manifests)
        {
            var before = cases.Count;
            ReadManifest(m, cases);
            if (cases.Count == before) throw new ConformanceSetupException($"conformance manifest '{m}': no cases");
            for (int i = before; i < cases.Count; i++)
                if (!ids.Add(cases[i].Id))
                    throw new ConformanceSetupException($"conformance manifest '{m}': duplicate case name '{cases[i].Name}'");
        }
        return cases;
    }

    static void ReadManifest(string path, List<ConformanceCase> cases)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ConformanceSetupException($"conformance manifest '{path}': not valid JSON: {e.Message}");
        }
        var root = doc.RootElement;
        string Fail(string problem) => throw new ConformanceSetupException($"conformance manifest '{path}': {problem}");
        if (root.ValueKind != JsonValueKind.Object) Fail("expected a JSON object");
        var format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (format != Format) Fail($"expected \"format\": \"{Format}\"; got {(format is null ? "none" : $"\"{format}\"")}");
        if (!root.TryGetProperty("tensors", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(t.GetString()))
            Fail("expected \"tensors\": the name of its safetensors file");
        var tensorsPath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, t.GetString()!));
        if (!File.Exists(tensorsPath)) Fail($"its tensors file '{tensorsPath}' does not exist");
        if (!root.TryGetProperty("cases", out var list) || list.ValueKind != JsonValueKind.Array) Fail("expected \"cases\": an array");

        var stem = Path.GetFileNameWithoutExtension(path);
        int index = 0;
        foreach (var c in list.EnumerateArray())
        {
            string Where(string problem) => Fail($"case {index}: {problem}");
            if (c.ValueKind != JsonValueKind.Object) Where("expected an object");
            string name = Str(c, "name") ?? Where("expected a \"name\"");
            string op = Str(c, "op") ?? Where($"'{name}' has no \"op\"");
            var attrs = c.TryGetProperty("attrs", out var a) ? a.Clone() : JsonDocument.Parse("{}").RootElement.Clone();
            if (attrs.ValueKind != JsonValueKind.Object) Where($"'{name}': \"attrs\" must be an object");
            if (!c.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Object) Where($"'{name}' has no \"inputs\" object");
            if (!c.TryGetProperty("expected", out var expected) || expected.ValueKind != JsonValueKind.Object) Where($"'{name}' has no \"expected\" object");
            var (ins, inLists) = Refs(inputs, m => Where($"'{name}': inputs.{m}"));
            var (exp, expLists) = Refs(expected, m => Where($"'{name}': expected.{m}"));
            var gradOutput = c.TryGetProperty("grad_output", out var go) ? go.GetString() : null;
            cases.Add(new ConformanceCase($"{stem}/{name}", name, op, path, tensorsPath, attrs, ins, inLists, gradOutput, exp, expLists));
            index++;
        }
    }

    static string? Str(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static (Dictionary<string, string>, Dictionary<string, string[]>) Refs(JsonElement obj, Func<string, string> fail)
    {
        var single = new Dictionary<string, string>(StringComparer.Ordinal);
        var lists = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.String) single[p.Name] = p.Value.GetString()!;
            else if (p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
                lists[p.Name] = [.. p.Value.EnumerateArray().Select(x => x.GetString()!)];
            else fail($"{p.Name} must be a tensor key or a list of keys");
        }
        return (single, lists);
    }
}
