using Nabla.Training;
using System.Globalization;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla ensemble train --members K [--bagging] --out DIR [train options]</c>: K ordinary runs,
/// <c>DIR/member-1</c> ... <c>DIR/member-K</c>, that differ by seed (member k uses seed + k − 1)
/// and, with <c>--bagging</c>, by a bootstrap resample of the training set. Each member is a normal
/// run folder, so members can as well be trained in parallel processes or on other machines with
/// <c>nabla train --seed S [--bootstrap] --out DIR/member-k</c> and combined by <c>nabla ensemble eval</c>.
/// Run again with the same arguments, it skips finished members and resumes an interrupted one.
/// </summary>
internal static class EnsembleTrainCommand
{
    static readonly OptionSpec Members = new("--members", OptionKind.Int, "number of members K (default 5)", InConfig: false);
    static readonly OptionSpec Bagging = new("--bagging", OptionKind.Switch, "train each member on its own bootstrap resample of the training set", InConfig: false);

    public static readonly OptionSpec[] Options =
        [Members, Bagging, .. TrainConfig.Options.Where(o => o.Key is not ("bootstrap"))];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console, CancellationToken cancel, Action<TrainingProgress>? onProgress = null)
    {
        var parsed = ArgParser.Parse("ensemble train", args, [.. Options, TrainCommand.Options.First(o => o.Key == "config")]);
        if (parsed.Positionals.Count > 0)
            throw new CliException($"nabla ensemble train takes no positional arguments; got '{parsed.Positionals[0]}'");
        int k = parsed.Int("members") ?? 5;
        if (k < 1 || k > 100) throw new CliException($"--members must be between 1 and 100; got {k}");
        string root = parsed.Text("out") ?? throw new CliException("nabla ensemble train needs --out DIR, the folder that will hold the members");
        bool bagging = parsed.Switch("bagging") ?? false;
        // Every member's configuration: the flags and --config file as nabla train reads them; each
        // member then gets its own seed (base + k - 1), folder and, with --bagging, bootstrap resample.
        var shared = TrainCommand.ConfigFromFlags(parsed);
        if ((long)shared.Seed + k - 1 > int.MaxValue)
            throw new CliException($"--seed {shared.Seed} with {k} members gives seeds past {int.MaxValue}; choose a smaller --seed");

        RequireSameOptions(root, k, shared);
        Directory.CreateDirectory(root);
        for (int m = 1; m <= k; m++)
        {
            if (cancel.IsCancellationRequested) return 130;
            string dir = Path.Combine(root, MemberName(m));
            var member = new RunFolder(dir);
            console.MarkupLineInterpolated($"[bold]member {m}/{k}[/] → {dir}");
            if (File.Exists(member.Model))
            {
                console.WriteLine("  finished before; skipped");
                continue;
            }
            int code = File.Exists(member.Checkpoint)
                ? Resume(dir, parsed, console, onProgress, cancel)
                : TrainCommand.Train(shared with { Seed = shared.Seed + m - 1, Out = dir, Bootstrap = bagging || shared.Bootstrap }, RunFolder.ForNew(dir),
                    resuming: false, console, onProgress, cancel);
            if (code != 0)
            {
                console.MarkupLineInterpolated($"Stopped at member {m}; run the same command again to continue.");
                return code;
            }
        }
        console.MarkupLineInterpolated($"Trained {k} members in {root}; combine them with: [bold]nabla ensemble eval {root} --out {Path.Combine(root, "eval")}[/]");
        return 0;
    }

    /// <summary>An interrupted member continues with its saved configuration and this command's --threads and --workers.</summary>
    static int Resume(string dir, ArgParser.Result parsed, IAnsiConsole console, Action<TrainingProgress>? onProgress, CancellationToken cancel)
    {
        var (config, run) = TrainCommand.ResumeConfig(dir, parsed);
        return TrainCommand.Train(config, run, resuming: true, console, onProgress, cancel);
    }

    // What differs between members by design, or may differ between machines.
    static readonly string[] MemberKeys = ["seed", "out", "bootstrap", "threads", "workers"];

    /// <summary>
    /// Running the command again continues the ensemble in <paramref name="root"/>: refused when the
    /// members already there were trained with other options, which would mix two configurations.
    /// </summary>
    static void RequireSameOptions(string root, int k, TrainConfig shared)
    {
        var wanted = shared.ToJson();
        for (int m = 1; m <= k; m++)
        {
            var member = new RunFolder(Path.Combine(root, MemberName(m)));
            if (!File.Exists(member.Config)) continue;
            var saved = TrainConfig.From(TrainConfig.ReadFile(member.Config)).ToJson();
            foreach (var (key, value) in wanted)
            {
                if (MemberKeys.Contains(key)) continue;
                string now = value?.ToJsonString() ?? "null", before = saved[key]?.ToJsonString() ?? "null";
                if (now != before)
                    throw CliException.File($"{root} holds members trained with --{key.Replace('_', '-')} {before.Trim('"')}; this command asks for {now.Trim('"')}: " +
                                            "run it with the same options to continue the ensemble, or choose another --out");
            }
        }
    }

    public static string MemberName(int m) => "member-" + m.ToString(CultureInfo.InvariantCulture);
}
