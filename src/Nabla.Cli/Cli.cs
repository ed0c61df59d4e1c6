using System.Reflection;
using Nabla.Data;
using Nabla.Serialization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// The <c>nabla</c> command: <c>train</c>, <c>eval</c>, <c>predict</c>, <c>export</c>, <c>augment</c>. A mistake
/// (a bad flag, a missing or corrupt file) is one line on standard error and a non-zero exit code:
/// 2 for usage, 1 for files and data, 130 for a run interrupted by Ctrl+C (its checkpoint saved).
/// </summary>
internal static class Cli
{
    static readonly (string Name, string Summary, OptionSpec[] Options, string Usage)[] Commands =
    [
        ("train", "train a model on Fashion-MNIST or a folder of your images and write a run folder", TrainCommand.Options, "nabla train [options]"),
        ("eval", "test metrics and the confusion matrix of a trained run", EvalCommand.Options, "nabla eval RUN [options]"),
        ("predict", "the top classes of image files", PredictCommand.Options, "nabla predict RUN FILE... [options]"),
        ("export", "write a trained run as an ONNX model for ONNX Runtime", ExportCommand.Options, "nabla export RUN [--out FILE.onnx] [options]"),
        ("data export-images", "write Fashion-MNIST (or any IDX set) as a folder tree of PNG images, one folder per class", DataCommand.Options, "nabla data export-images --out TREE [options]"),
        ("augment", "a PNG grid previewing an augmentation policy", AugmentCommand.Options, "nabla augment [options]"),
        ("ensemble train", "train K members differing by seed (and, with --bagging, by bootstrap resample)", EnsembleTrainCommand.Options, "nabla ensemble train --members K [--bagging] --out DIR [train options]"),
        ("ensemble eval", "combine trained runs and report members, ensemble and growth", EnsembleEvalCommand.Options, "nabla ensemble eval RUN... [--out DIR]"),
        ("lab", "run the lecture's claims as experiments: figures, report.md and a measured verdict each", Lab.LabCommand.Options, "nabla lab NAME... | all | --list [--out DIR] [--full]"),
    ];

    /// <summary>Whether the running command stops cleanly when cancelled (training); Ctrl+C ends any other at once.</summary>
    public static volatile bool StopsCleanly;

    /// <param name="args">The command line.</param>
    /// <param name="console">Where the command writes.</param>
    /// <param name="error">Where one-line errors go.</param>
    /// <param name="cancel">Stops training cleanly (a checkpoint is saved) when cancelled.</param>
    /// <param name="onProgress">Sees every training progress report, for a program that embeds the command (a GUI, a test that interrupts a run at a chosen batch).</param>
    public static int Run(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancel, Action<TrainingProgress>? onProgress = null)
    {
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                if (args.Length > 1) return args[1] == "ensemble" && args.Length == 2
                    ? Run(["ensemble", "--help"], console, error, cancel, onProgress)
                    : Help(console, string.Join(' ', args.Skip(1)));
                Usage(console);
                return args.Length == 0 ? 2 : 0;
            }
            if (args[0] is "--version")
            {
                console.WriteLine(typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
                return 0;
            }
            string name = args[0];
            var rest = args.Skip(1).ToArray();
            if (name == "data")
            {
                if (rest.Length == 0 || rest[0] != "export-images")
                    throw new CliException($"nabla data expects export-images; got {(rest.Length == 0 ? "nothing" : $"'{rest[0]}'")}");
                name = "data export-images";
                rest = rest[1..];
            }
            if (name == "ensemble")
            {
                if (rest.Length == 1 && rest[0] is "--help" or "-h")
                {
                    Help(console, "ensemble train");
                    console.WriteLine();
                    return Help(console, "ensemble eval");
                }
                if (rest.Length == 0 || rest[0] is not ("train" or "eval"))
                    throw new CliException($"nabla ensemble expects train or eval; got {(rest.Length == 0 ? "nothing" : $"'{rest[0]}'")}");
                name = "ensemble " + rest[0];
                rest = rest[1..];
            }
            StopsCleanly = name is "train" or "ensemble train";
            if (rest.Any(a => a is "--help" or "-h")) return Help(console, name);
            return name switch
            {
                "ensemble train" => EnsembleTrainCommand.Run(rest, console, cancel, onProgress),
                "ensemble eval" => EnsembleEvalCommand.Run(rest, console),
                "train" => TrainCommand.Run(rest, console, cancel, onProgress),
                "eval" => EvalCommand.Run(rest, console),
                "predict" => PredictCommand.Run(rest, console),
                "export" => ExportCommand.Run(rest, console),
                "data export-images" => DataCommand.Run(rest, console),
                "augment" => AugmentCommand.Run(rest, console),
                "lab" => Lab.LabCommand.Run(rest, console),
                _ => throw new CliException($"unknown command '{args[0]}'{ArgParser.Suggest(args[0], Commands.Select(c => c.Name))}; commands: {string.Join(", ", Commands.Select(c => c.Name))}"),
            };
        }
        catch (CliException e)
        {
            return Fail(error, e.Message, e.ExitCode);
        }
        catch (Exception e) when (e is DataFormatException or SafeTensorsException or IOException or UnauthorizedAccessException)
        {
            return Fail(error, CommandShared.OneLine(e.Message), 1);
        }
        catch (TypeInitializationException e) when (e.InnerException is InvalidOperationException inner)
        {
            return Fail(error, CommandShared.OneLine(inner.Message), 2); // a bad NABLA_NUM_THREADS
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("NABLA_DEBUG") is not "1")
        {
            return Fail(error, $"internal error: {e.GetType().Name}: {CommandShared.OneLine(e.Message)} (set NABLA_DEBUG=1 for the stack trace)", 70);
        }
    }

    static int Fail(TextWriter error, string message, int code)
    {
        error.WriteLine($"nabla: error: {message}");
        return code;
    }

    static void Usage(IAnsiConsole console)
    {
        console.MarkupLine("[bold]nabla[/]: train and use neural networks with Nabla (pure .NET).");
        console.WriteLine();
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var c in Commands) grid.AddRow(new Markup($"  [bold]{c.Name}[/]"), new Text(c.Summary));
        console.Write(grid);
        console.WriteLine();
        console.WriteLine("nabla COMMAND --help lists a command's options. Examples:");
        console.WriteLine("  nabla train                                   the default CNN on Fashion-MNIST, 10 epochs");
        console.WriteLine("  nabla train --model mlp --epochs 20 --out runs/mlp");
        console.WriteLine("  nabla train --resume runs/mlp                 continue after Ctrl+C");
        console.WriteLine("  nabla eval runs/mlp --tta flip");
        console.WriteLine("  nabla predict runs/mlp shirt.jpg boot.png");
        console.WriteLine("  nabla export runs/mlp --out mlp.onnx");
        console.WriteLine("  nabla data export-images --out fashion-png --per-class 100");
        console.WriteLine("  nabla augment --augment randaugment --index 3 --out preview.png");
        console.WriteLine("  nabla ensemble train --members 5 --bagging --out runs/ens && nabla ensemble eval runs/ens --out runs/ens/eval");
        console.WriteLine("  nabla eval runs/mlp --mc-dropout 50 --out runs/mlp/mc");
        console.WriteLine("  nabla lab init --out lab                      Xavier, Kaiming and small weights, measured layer by layer");
    }

    static int Help(IAnsiConsole console, string name)
    {
        var command = Array.Find(Commands, c => c.Name == name);
        if (command.Name is null)
            throw new CliException($"unknown command '{name}'{ArgParser.Suggest(name, Commands.Select(c => c.Name))}; commands: {string.Join(", ", Commands.Select(c => c.Name))}");
        console.MarkupLineInterpolated($"[bold]{command.Usage}[/]: {command.Summary}");
        console.WriteLine();
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var o in command.Options)
        {
            string value = o.Kind switch
            {
                OptionKind.Switch => "",
                OptionKind.Choice => " " + string.Join("|", o.Choices!),
                OptionKind.Int => " N",
                OptionKind.Number => " X",
                OptionKind.Text => " " + (o.Choices?.FirstOrDefault() ?? "TEXT"),
                _ => " PATH",
            };
            grid.AddRow(new Text($"  {o.Flag}{value}"), new Text(o.Help));
        }
        console.Write(grid);
        if (name == "train")
        {
            console.WriteLine();
            console.WriteLine("Switches take --name or --no-name. A JSON config file (--config) uses the flags' names with underscores");
            console.WriteLine("(\"batch_size\": 64); flags override it. The data folder can also be set with NABLA_DATA_DIR.");
        }
        return 0;
    }
}
