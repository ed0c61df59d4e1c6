using System.Globalization;
using System.Text.Json.Nodes;

namespace Nabla.Cli;

/// <summary>The type of an option's value.</summary>
internal enum OptionKind { Int, Number, Text, Choice, Switch, Path }

/// <summary>
/// One option of a command: its flag (<c>--batch-size</c>), the key it has in a JSON config file
/// (<c>batch_size</c>), its type, the allowed words for a choice, and its help line. Flags and
/// config files are checked against the same table, so both get the same errors.
/// </summary>
internal sealed record OptionSpec(string Flag, OptionKind Kind, string Help, string[]? Choices = null, bool InConfig = true)
{
    /// <summary>The JSON key: the flag without its dashes, words joined by underscores.</summary>
    public string Key => Flag.TrimStart('-').Replace('-', '_');

    /// <summary>Converts a command-line word to the option's JSON value, or throws a one-line <see cref="CliException"/>.</summary>
    public JsonNode Parse(string text, string where)
    {
        switch (Kind)
        {
            case OptionKind.Int:
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i))
                    throw new CliException($"{where} expects a whole number; got '{text}'");
                return JsonValue.Create(i);
            case OptionKind.Number:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
                    throw new CliException($"{where} expects a number; got '{text}'");
                return JsonValue.Create(d);
            case OptionKind.Choice:
                var word = text.ToLowerInvariant();
                if (Array.IndexOf(Choices!, word) < 0)
                    throw new CliException($"{where} expects one of {string.Join(", ", Choices!)}; got '{text}'");
                return JsonValue.Create(word);
            case OptionKind.Switch:
                return text.ToLowerInvariant() switch
                {
                    "true" or "on" or "yes" or "1" => JsonValue.Create(true),
                    "false" or "off" or "no" or "0" => JsonValue.Create(false),
                    _ => throw new CliException($"{where} expects true or false; got '{text}'"),
                };
            default:
                if (text.Length == 0) throw new CliException($"{where} expects a value; got an empty one");
                return JsonValue.Create(text);
        }
    }

    /// <summary>Checks a value read from a JSON config file and returns it normalized.</summary>
    public JsonNode? Check(JsonNode? value, string where)
    {
        if (value is null) return null; // null means "the default"
        if (value is not JsonValue v) throw new CliException($"{where} must be a single value; got {value.ToJsonString()}");
        switch (Kind)
        {
            case OptionKind.Int:
                if (v.TryGetValue(out int i)) return JsonValue.Create(i);
                if (v.TryGetValue(out double di) && di == Math.Floor(di) && Math.Abs(di) < int.MaxValue) return JsonValue.Create((int)di);
                throw new CliException($"{where} must be a whole number; got {value.ToJsonString()}");
            case OptionKind.Number:
                if (v.TryGetValue(out double d) && double.IsFinite(d)) return JsonValue.Create(d);
                throw new CliException($"{where} must be a number; got {value.ToJsonString()}");
            case OptionKind.Switch:
                if (v.TryGetValue(out bool b)) return JsonValue.Create(b);
                throw new CliException($"{where} must be true or false; got {value.ToJsonString()}");
            default:
                if (v.TryGetValue(out string? s)) return Parse(s, where);
                throw new CliException($"{where} must be a string; got {value.ToJsonString()}");
        }
    }
}
