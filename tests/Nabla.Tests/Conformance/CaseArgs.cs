using System.Globalization;
using System.Text.Json;

namespace Nabla.Tests.ConformanceTests;

/// <summary>
/// What an op registration reads from a case: input tensors by role and typed attributes. It
/// records what was read, so the runner can fail a registration that ignores an input or an
/// attribute (a forgotten bias or stride would otherwise pass only by luck, or not at all, silently).
/// </summary>
internal sealed class CaseArgs
{
    readonly ConformanceCase _case;
    readonly IReadOnlyDictionary<string, Tensor> _inputs;
    readonly IReadOnlyDictionary<string, Tensor[]> _lists;
    readonly HashSet<string> _readInputs = new(StringComparer.Ordinal);
    readonly HashSet<string> _readAttrs = new(StringComparer.Ordinal);

    public CaseArgs(ConformanceCase c, IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, Tensor[]> lists)
    {
        _case = c;
        _inputs = inputs;
        _lists = lists;
    }

    /// <summary>The case's name, for messages.</summary>
    public string CaseName => _case.Name;

    // ---- inputs ------------------------------------------------------------------------------

    /// <summary>The input with this role (a leaf that requires grad where the case checks its gradient).</summary>
    public Tensor In(string role) => OptIn(role) ?? throw Bad($"has no input '{role}'");

    /// <summary>The input with this role, or null when the case has none (an optional bias).</summary>
    public Tensor? OptIn(string role)
    {
        _readInputs.Add(role);
        return _inputs.TryGetValue(role, out var t) ? t : null;
    }

    /// <summary>The list of inputs with this role.</summary>
    public Tensor[] InList(string role)
    {
        _readInputs.Add(role);
        return _lists.TryGetValue(role, out var t) ? t : throw Bad($"has no input list '{role}'");
    }

    // ---- attributes --------------------------------------------------------------------------

    /// <summary>Whether the case sets attribute <paramref name="name"/>.</summary>
    public bool Has(string name) => _case.Attrs.TryGetProperty(name, out _);

    /// <summary>An integer attribute.</summary>
    public int Int(string name) => AsInt(name, Attr(name));

    /// <summary>An integer attribute, or <paramref name="fallback"/> when absent.</summary>
    public int Int(string name, int fallback) => Has(name) ? Int(name) : Mark(name, fallback);

    /// <summary>A list of integers (a single integer counts as a list of one).</summary>
    public int[] Ints(string name)
    {
        var v = Attr(name);
        if (v.ValueKind == JsonValueKind.Number) return [AsInt(name, v)];
        if (v.ValueKind != JsonValueKind.Array) throw Bad($"attr '{name}' must be an integer list; got {v.GetRawText()}");
        return [.. v.EnumerateArray().Select(x => AsInt(name, x))];
    }

    /// <summary>A pair such as a 2-D stride: <c>[a, b]</c>, or one integer used for both (PyTorch's convention).</summary>
    public (int, int) Pair(string name)
    {
        var v = Ints(name);
        return v.Length switch
        {
            1 => (v[0], v[0]),
            2 => (v[0], v[1]),
            _ => throw Bad($"attr '{name}' must be an integer or a pair; got {Attr(name).GetRawText()}"),
        };
    }

    /// <summary>A pair attribute, or <paramref name="fallback"/> when absent.</summary>
    public (int, int) Pair(string name, (int, int) fallback) => Has(name) ? Pair(name) : Mark(name, fallback);

    /// <summary>A number attribute.</summary>
    public double Double(string name)
    {
        var v = Attr(name);
        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Bad($"attr '{name}' must be a number; got {v.GetRawText()}");
    }

    /// <summary>A number attribute, or <paramref name="fallback"/> when absent.</summary>
    public double Double(string name, double fallback) => Has(name) ? Double(name) : Mark(name, fallback);

    /// <summary>A number attribute as float32.</summary>
    public float Float(string name) => (float)Double(name);

    /// <summary>A number attribute as float32, or <paramref name="fallback"/> when absent.</summary>
    public float Float(string name, float fallback) => (float)Double(name, fallback);

    /// <summary>A boolean attribute.</summary>
    public bool Bool(string name)
    {
        var v = Attr(name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad($"attr '{name}' must be true or false; got {v.GetRawText()}"),
        };
    }

    /// <summary>A boolean attribute, or <paramref name="fallback"/> when absent.</summary>
    public bool Bool(string name, bool fallback) => Has(name) ? Bool(name) : Mark(name, fallback);

    /// <summary>A string attribute.</summary>
    public string Str(string name)
    {
        var v = Attr(name);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad($"attr '{name}' must be a string; got {v.GetRawText()}");
    }

    /// <summary>A string attribute, or <paramref name="fallback"/> when absent.</summary>
    public string Str(string name, string fallback) => Has(name) ? Str(name) : Mark(name, fallback);

    /// <summary>Marks an attribute as deliberately unused, after checking it has the only value Nabla supports.</summary>
    public void Expect(string name, string expectedRawJson)
    {
        var raw = Attr(name).GetRawText();
        if (raw != expectedRawJson) throw Bad($"attr '{name}' is {raw}; the registration supports only {expectedRawJson}");
    }

    // ---- bookkeeping -------------------------------------------------------------------------

    /// <summary>Input roles the registration never asked for.</summary>
    internal IEnumerable<string> UnreadInputs() =>
        _inputs.Keys.Concat(_lists.Keys).Where(k => !_readInputs.Contains(k));

    /// <summary>Attributes the registration never asked for.</summary>
    internal IEnumerable<string> UnreadAttrs() =>
        _case.Attrs.EnumerateObject().Select(p => p.Name).Where(k => !_readAttrs.Contains(k));

    JsonElement Attr(string name)
    {
        _readAttrs.Add(name);
        return _case.Attrs.TryGetProperty(name, out var v) ? v : throw Bad($"has no attr '{name}'");
    }

    T Mark<T>(string name, T value)
    {
        _readAttrs.Add(name);
        return value;
    }

    int AsInt(string name, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)
            ? i
            : throw Bad($"attr '{name}' must be an integer; got {v.GetRawText()}");

    ConformanceSetupException Bad(string problem) =>
        new(string.Create(CultureInfo.InvariantCulture, $"conformance case '{_case.Id}' (op '{_case.Op}') {problem}"));
}
