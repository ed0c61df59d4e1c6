using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// What several commands share, in one place: the --threads and --mc-dropout checks, the report
/// pieces (per-class accuracy, the confusion matrix as JSON and as a table), and errors on one line.
/// </summary>
internal static class CommandShared
{
    /// <summary>
    /// A message on one line, every line of it kept (a hint line says what to do), joined by "; ":
    /// the CLI's errors are one line each.
    /// </summary>
    internal static string OneLine(string message) =>
        string.Join("; ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The --mc-dropout passes asked for, checked against the range and the model; null when not asked.</summary>
    internal static int? McDropoutPasses(ArgParser.Result parsed, SavedModel saved, string runPath)
    {
        if (parsed.Int("mc_dropout") is not int passes) return null;
        if (passes < 1 || passes > 10000) throw new CliException($"--mc-dropout must be between 1 and 10000 passes; got {passes}");
        if (!saved.Model.Modules().Any(m => m is Dropout or Dropout2d))
            throw new CliException($"--mc-dropout needs a model with dropout; {runPath} was trained with --dropout 0");
        return passes;
    }

    /// <summary>Whether every value is a finite number (no NaN, no infinity).</summary>
    internal static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>
    /// The model's outputs <paramref name="values"/>, refused when any is NaN or infinite: a probability
    /// computed from them would be NaN, and an entropy of 0 would claim certainty.
    /// </summary>
    internal static Tensor RequireFinite(Tensor values, string model)
    {
        if (!AllFinite(values.Data))
            throw CliException.File($"{model}: the model's outputs are NaN or infinite for some images, so it cannot give probabilities (its weights or inputs overflow)");
        return values;
    }

    internal static void SetThreads(ArgParser.Result parsed)
    {
        if (parsed.Int("threads") is not int threads) return;
        TrainConfig.CheckThreads(threads);
        Threading.NumThreads = threads;
    }

    internal static JsonObject PerClass(double[] accuracy, IReadOnlyList<string>? classes = null)
    {
        classes ??= FashionMnist.Classes;
        var o = new JsonObject();
        for (int i = 0; i < accuracy.Length; i++)
            o[i < classes.Count ? classes[i] : i.ToString(CultureInfo.InvariantCulture)] = double.IsNaN(accuracy[i]) ? null : accuracy[i];
        return o;
    }

    internal static JsonArray Confusion(long[,] m)
    {
        var rows = new JsonArray();
        for (int t = 0; t < m.GetLength(0); t++)
        {
            var row = new JsonArray();
            for (int p = 0; p < m.GetLength(1); p++) row.Add(m[t, p]);
            rows.Add(row);
        }
        return rows;
    }

    internal static Table ConfusionTable(long[,] m, IReadOnlyList<string> classes)
    {
        int c = m.GetLength(0);
        var table = new Table().Border(TableBorder.Simple).Title("confusion matrix (rows: true class, columns: predicted)");
        table.AddColumn("");
        for (int p = 0; p < c; p++) table.AddColumn(new TableColumn(p.ToString(CultureInfo.InvariantCulture)).RightAligned());
        table.AddColumn(new TableColumn("accuracy").RightAligned());
        for (int t = 0; t < c; t++)
        {
            long row = 0;
            var cells = new List<string> { Markup.Escape($"{t} {(t < classes.Count ? classes[t] : "")}") };
            for (int p = 0; p < c; p++)
            {
                row += m[t, p];
                cells.Add(p == t ? $"[bold]{m[t, p]}[/]" : m[t, p] == 0 ? "[grey]·[/]" : m[t, p].ToString(CultureInfo.InvariantCulture));
            }
            cells.Add(row == 0 ? "—" : (100.0 * m[t, t] / row).ToString("F2", CultureInfo.InvariantCulture) + "%");
            table.AddRow(cells.ToArray());
        }
        return table;
    }
}
