using System.Diagnostics;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Nabla.Cli.Lab;

/// <summary>
/// <c>nabla lab NAME... | all | --list</c>: runs the lecture's claims as experiments, each writing
/// its figures, report.md and result.json into its own folder under <c>--out</c>, and prints each
/// verdict as it comes.
/// </summary>
internal static class LabCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--list", OptionKind.Switch, "list the experiments and their claims"),
        new("--out", OptionKind.Path, "folder for the experiments' folders (default lab)"),
        new("--full", OptionKind.Switch, "the longer, more faithful version of each experiment (default: about 3 minutes each on two cores)"),
        new("--scale", OptionKind.Choice, "tiny (a smoke test in seconds; the numbers mean nothing), default, or full (as --full)", ["tiny", "default", "full"]),
        new("--seed", OptionKind.Int, "seed of every random stream (default 0)"),
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files (default as for nabla train)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("lab", args, Options);
        if (parsed.Switch("list") ?? false)
        {
            if (parsed.Positionals.Count > 0) throw new CliException("--list takes no experiment names");
            var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
            foreach (var e in LabExperiment.All) grid.AddRow(new Markup($"  [bold]{e.Name}[/]"), new Text(e.Claim));
            console.Write(grid);
            return 0;
        }
        var names = parsed.Positionals;
        if (names.Count == 0)
            throw new CliException($"nabla lab expects an experiment name, all, or --list; experiments: {string.Join(", ", LabExperiment.All.Select(e => e.Name))}");
        var chosen = new List<LabExperiment>();
        foreach (var name in names)
        {
            if (name == "all") chosen.AddRange(LabExperiment.All);
            else chosen.Add(LabExperiment.All.FirstOrDefault(e => e.Name == name)
                ?? throw new CliException($"unknown experiment '{name}'{ArgParser.Suggest(name, LabExperiment.All.Select(e => e.Name))}; experiments: {string.Join(", ", LabExperiment.All.Select(e => e.Name))}"));
        }
        chosen = [.. chosen.Distinct()];
        if ((parsed.Switch("full") ?? false) && parsed.Has("scale") && parsed.Text("scale") != "full")
            throw new CliException($"--full and --scale {parsed.Text("scale")} contradict each other");
        var scale = (parsed.Switch("full") ?? false) ? LabScale.Full : parsed.Text("scale") switch { "tiny" => LabScale.Tiny, "full" => LabScale.Full, _ => LabScale.Default };
        int seed = parsed.Int("seed") ?? 0;
        if (seed < 0) throw new CliException($"--seed must be non-negative; got {seed}");
        CommandShared.SetThreads(parsed);
        string root = parsed.Text("out") ?? "lab";
        if (File.Exists(root)) throw CliException.File($"--out {root} is a file; name a folder");
        // Refuse before running anything: an experiment's folder that holds something else than an earlier lab run.
        foreach (var e in chosen)
        {
            var dir = Path.Combine(root, e.Name);
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !File.Exists(Path.Combine(dir, "result.json")))
                throw CliException.File($"--out: {dir} exists and is not a lab experiment's folder; choose another --out");
        }

        var lab = new LabContext(scale, seed, parsed.Text("data"), console);
        var all = new JsonArray();
        var total = Stopwatch.StartNew();
        foreach (var e in chosen)
        {
            var dir = Path.Combine(root, e.Name);
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw CliException.File($"cannot create {dir}: {CommandShared.OneLine(ex.Message)}");
            }
            console.MarkupLineInterpolated($"[bold]nabla lab {e.Name}[/]: {e.Claim}");
            var report = new LabReport(e, dir, lab);
            var clock = Stopwatch.StartNew();
            e.Run(lab, report);
            report.Write(clock.Elapsed.TotalSeconds, $"{seed} (the data subsets, initializations, shuffles and dropout masks all derive from it)");
            foreach (var v in report.Verdicts)
            {
                string color = v.Outcome switch { Outcome.Holds => "green", Outcome.DoesNotHold => "red", _ => "yellow" };
                console.MarkupLineInterpolated($"  [{color}]{v.Word}[/]: {v.Claim}. [grey]{v.Evidence}[/]");
            }
            console.MarkupLineInterpolated($"  wrote {dir} in {clock.Elapsed.TotalSeconds:F0} s");
            all.Add(new JsonObject
            {
                ["experiment"] = e.Name,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
                ["verdicts"] = new JsonArray([.. report.Verdicts.Select(v => (JsonNode)new JsonObject { ["claim"] = v.Claim, ["verdict"] = v.Word })]),
            });
        }
        if (chosen.Count > 1)
        {
            RunFolder.WriteJson(Path.Combine(root, "summary.json"), new JsonObject
            {
                ["scale"] = scale.ToString().ToLowerInvariant(), ["seed"] = seed, ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1), ["experiments"] = all,
            });
            console.MarkupLineInterpolated($"{chosen.Count} experiments in {ProgressView.Clock(total.Elapsed.TotalSeconds)}; summary in {Path.Combine(root, "summary.json")}");
        }
        return 0;
    }
}
