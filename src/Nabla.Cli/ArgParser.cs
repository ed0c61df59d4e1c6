using System.Text.Json.Nodes;

namespace Nabla.Cli;

/// <summary>
/// Reads a command's arguments against its option table: <c>--flag value</c>, <c>--flag=value</c>,
/// switches as <c>--flag</c> / <c>--no-flag</c>, and positional words. Every mistake is a one-line
/// <see cref="CliException"/> that names the flag, with the closest known flag for a misspelling.
/// </summary>
internal static class ArgParser
{
    /// <summary>The parsed flags (as JSON values, keyed by the option's key) and the positional words.</summary>
    public sealed record Result(JsonObject Options, List<string> Positionals)
    {
        public bool Has(string key) => Options.ContainsKey(key);

        public string? Text(string key) => Options[key]?.GetValue<string>();

        public int? Int(string key) => Options[key]?.GetValue<int>();

        public double? Number(string key) => Options[key]?.GetValue<double>();

        public bool? Switch(string key) => Options[key]?.GetValue<bool>();
    }

    public static Result Parse(string command, IReadOnlyList<string> args, IReadOnlyList<OptionSpec> specs)
    {
        var options = new JsonObject();
        var positionals = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                for (i++; i < args.Count; i++) positionals.Add(args[i]);
                break;
            }
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                if (a.StartsWith('-') && a.Length > 1 && !double.TryParse(a, out _))
                    throw new CliException($"nabla {command}: unknown option '{a}' (options start with two dashes; see nabla {command} --help)");
                positionals.Add(a);
                continue;
            }
            string name = a, value = "";
            bool hasValue = false;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = a[..eq];
                value = a[(eq + 1)..];
                hasValue = true;
            }
            var spec = Find(specs, name);
            bool negated = false;
            if (spec is null && name.StartsWith("--no-", StringComparison.Ordinal))
            {
                spec = Find(specs, "--" + name[5..]);
                negated = spec is { Kind: OptionKind.Switch };
                if (!negated) spec = null;
            }
            if (spec is null)
                throw new CliException($"nabla {command}: unknown option '{name}'{Suggest(name, specs)}; see nabla {command} --help");
            if (options.ContainsKey(spec.Key))
                throw new CliException($"nabla {command}: {spec.Flag} is given twice");
            if (spec.Kind == OptionKind.Switch)
            {
                if (negated && hasValue) throw new CliException($"nabla {command}: {name} takes no value");
                options[spec.Key] = negated ? JsonValue.Create(false) : hasValue ? spec.Parse(value, spec.Flag) : JsonValue.Create(true);
                continue;
            }
            if (!hasValue)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                    throw new CliException($"nabla {command}: {spec.Flag} expects a value{ChoiceHint(spec)}");
                value = args[++i];
            }
            options[spec.Key] = spec.Parse(value, spec.Flag);
        }
        return new Result(options, positionals);
    }

    static OptionSpec? Find(IReadOnlyList<OptionSpec> specs, string flag)
    {
        foreach (var s in specs) if (s.Flag == flag) return s;
        return null;
    }

    static string ChoiceHint(OptionSpec spec) => spec.Choices is null ? "" : $" ({string.Join(", ", spec.Choices)})";

    /// <summary>"; did you mean '--lr'?" for the known name closest to a misspelled one (edit distance at most a third of its length).</summary>
    public static string Suggest(string name, IEnumerable<OptionSpec> specs) => Suggest(name, specs.Select(s => s.Flag));

    public static string Suggest(string name, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            int d = Distance(name, k);
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? $" (did you mean '{best}'?)" : "";
    }

    static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
