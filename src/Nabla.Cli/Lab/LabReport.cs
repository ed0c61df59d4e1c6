using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Nabla.Cli.Lab;

/// <summary>The verdict on one claim: it held on this data, it did not, or the measurement cannot tell.</summary>
internal enum Outcome { Holds, DoesNotHold, Inconclusive }

/// <summary>One claim with its measured verdict and the numbers behind it.</summary>
internal sealed record Verdict(string Claim, Outcome Outcome, string Evidence)
{
    public string Word => Outcome switch { Outcome.Holds => "holds", Outcome.DoesNotHold => "does not hold", _ => "inconclusive" };
}

/// <summary>
/// What an experiment writes into its folder: report.md (the claim, the setup, tables, figures and
/// verdicts, in the order added) and result.json (the numbers and verdicts, for machines).
/// </summary>
internal sealed class LabReport(LabExperiment experiment, string folder, LabContext lab)
{
    readonly StringBuilder _md = new();
    readonly JsonObject _numbers = [];
    readonly List<Verdict> _verdicts = [];

    public string Folder { get; } = folder;
    public IReadOnlyList<Verdict> Verdicts => _verdicts;

    /// <summary>The path of a file in the experiment's folder.</summary>
    public string File(string name) => Path.Combine(Folder, name);

    public void Setup(string text) => _md.Append("## Setup\n\n").Append(text.Trim()).Append("\n\n");

    public void Section(string title) => _md.Append("## ").Append(title).Append("\n\n");

    public void Text(string text) => _md.Append(text.Trim()).Append("\n\n");

    public void Table(string[] header, IEnumerable<string[]> rows)
    {
        _md.Append("| ").AppendJoin(" | ", header).Append(" |\n|").AppendJoin("|", header.Select(_ => " --- ")).Append("|\n");
        foreach (var r in rows) _md.Append("| ").AppendJoin(" | ", r).Append(" |\n");
        _md.Append('\n');
    }

    /// <summary>A figure already written to the folder, shown in the report.</summary>
    public void Figure(string file, string caption) => _md.Append($"![{caption}]({file})\n\n*{caption}*\n\n");

    /// <summary>A number for result.json.</summary>
    public void Number(string key, double value) => _numbers[key] = double.IsFinite(value) ? Math.Round(value, 6) : null;

    /// <summary>Any JSON value for result.json.</summary>
    public void Put(string key, JsonNode? value) => _numbers[key] = value;

    /// <summary>Records the verdict on a claim; it goes in the report's Verdicts section and in result.json.</summary>
    public Verdict Verdict(string claim, Outcome outcome, string evidence)
    {
        var v = new Verdict(claim, outcome, evidence);
        _verdicts.Add(v);
        return v;
    }

    /// <summary>Verdict that holds when <paramref name="holds"/>.</summary>
    public Verdict Verdict(string claim, bool holds, string evidence) => Verdict(claim, holds ? Outcome.Holds : Outcome.DoesNotHold, evidence);

    public void Write(double seconds, string seeds)
    {
        var md = new StringBuilder($"# nabla lab {experiment.Name}\n\n**Claim.** {experiment.Claim}\n\n");
        md.Append($"Data: {lab.Source}. Scale: {lab.Scale.ToString().ToLowerInvariant()}. Seeds: {seeds}. Ran in {seconds:F0} s ");
        md.Append($"on {Environment.ProcessorCount} cores. Reproduce with `nabla lab {experiment.Name}{ScaleFlag()} --seed {lab.Seed}`.\n\n");
        md.Append("## Verdicts\n\n");
        foreach (var v in _verdicts) md.Append($"- **{v.Claim}**: {v.Word}. {v.Evidence}\n");
        md.Append('\n').Append(_md);
        RunFolder.WriteText(File("report.md"), md.ToString());

        var json = new JsonObject
        {
            ["experiment"] = experiment.Name,
            ["claim"] = experiment.Claim,
            ["scale"] = lab.Scale.ToString().ToLowerInvariant(),
            ["seed"] = lab.Seed,
            ["seeds"] = seeds,
            ["data"] = lab.Source,
            ["seconds"] = Math.Round(seconds, 1),
            ["verdicts"] = new JsonArray([.. _verdicts.Select(v => (JsonNode)new JsonObject
            {
                ["claim"] = v.Claim, ["verdict"] = v.Word, ["evidence"] = v.Evidence,
            })]),
            ["numbers"] = _numbers.DeepClone(),
        };
        RunFolder.WriteJson(File("result.json"), json);
    }

    string ScaleFlag() => lab.Scale switch { LabScale.Full => " --full", LabScale.Tiny => " --scale tiny", _ => "" };

    /// <summary>A value with <paramref name="digits"/> decimals, invariant.</summary>
    public static string F(double v, int digits = 2) => double.IsNaN(v) ? "—" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    /// <summary>A fraction as a percentage with <paramref name="digits"/> decimals.</summary>
    public static string Pct(double v, int digits = 1) => double.IsNaN(v) ? "—" : (100 * v).ToString("F" + digits, CultureInfo.InvariantCulture) + "%";

    /// <summary>A value in scientific notation with 2 significant digits after the point.</summary>
    public static string E(double v) => double.IsNaN(v) ? "—" : v.ToString("0.00e+0", CultureInfo.InvariantCulture);
}
