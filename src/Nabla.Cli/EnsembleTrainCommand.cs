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
        // The base seed: the flag, else the config file's, else 0 (member k gets seed + k - 1).
        int seed = parsed.Int("seed") ?? (parsed.Text("config") is string file ? TrainConfig.ReadFile(file)["seed"]?.GetValue<int>() : null) ?? 0;
        if (seed < 0) throw new CliException($"--seed must be non-negative; got {seed}");

        // The member's own arguments: everything given except what this command sets per member.
        var passThrough = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i].Split('=')[0];
            var spec = Options.Concat(TrainCommand.Options).FirstOrDefault(o => o.Flag == flag || "--no-" + o.Flag[2..] == flag);
            bool takesValue = spec is not null && spec.Kind != OptionKind.Switch && !args[i].Contains('=', StringComparison.Ordinal);
            if (spec is not null && spec.Key is "members" or "bagging" or "out" or "seed")
            {
                if (takesValue) i++;
                continue;
            }
            passThrough.Add(args[i]);
            if (takesValue && i + 1 < args.Count) passThrough.Add(args[++i]);
        }

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
            List<string> memberArgs = File.Exists(member.Checkpoint)
                ? ["--resume", dir, .. ThreadsAndWorkers(passThrough)]
                : [.. passThrough, "--seed", (seed + m - 1).ToString(CultureInfo.InvariantCulture), "--out", dir, .. bagging ? new[] { "--bootstrap" } : []];
            int code = TrainCommand.Run(memberArgs, console, cancel, onProgress);
            if (code != 0)
            {
                console.MarkupLineInterpolated($"Stopped at member {m}; run the same command again to continue.");
                return code;
            }
        }
        console.MarkupLineInterpolated($"Trained {k} members in {root}; combine them with: [bold]nabla ensemble eval {root} --out {Path.Combine(root, "eval")}[/]");
        return 0;
    }

    public static string MemberName(int m) => "member-" + m.ToString(CultureInfo.InvariantCulture);

    static List<string> ThreadsAndWorkers(List<string> args)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i].Split('=')[0];
            if (flag is not ("--threads" or "--workers")) continue;
            kept.Add(args[i]);
            if (!args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Count) kept.Add(args[++i]);
        }
        return kept;
    }
}
