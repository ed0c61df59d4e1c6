using System.Text.Json.Nodes;
using Nabla.Cli;
using Nabla.Data;
using Spectre.Console;

namespace Nabla.Cli.Tests;

/// <summary>Runs the nabla command in-process with captured output, on the embedded Fashion-MNIST subset.</summary>
internal static class CliHarness
{
    public static string SubsetDir => FashionMnist.FindEmbedded() ?? throw new InvalidOperationException("the embedded subset is missing");

    public sealed record Outcome(int Code, string Out, string Error);

    public static Outcome Run(CancellationToken cancel, params string[] args) => Run(null, cancel, args);

    /// <summary>Runs the command; <paramref name="onProgress"/> sees every training progress report.</summary>
    public static Outcome Run(Action<Nabla.Training.TrainingProgress>? onProgress, CancellationToken cancel, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 160;
        int code = Nabla.Cli.Cli.Run(args, console, error, cancel, onProgress);
        return new Outcome(code, output.ToString(), error.ToString());
    }

    public static Outcome Run(params string[] args) => Run(CancellationToken.None, args);

    /// <summary>A quick training run's arguments: the MLP on 300 images of the subset for 2 epochs.</summary>
    /// <remarks>Flags in <paramref name="extra"/> replace the same flags of the base.</remarks>
    public static string[] Tiny(string outDir, params string[] extra)
    {
        var settings = new List<(string Flag, string Value)>
        {
            ("--model", "mlp"), ("--train-samples", "300"), ("--epochs", "2"), ("--batch-size", "32"), ("--threads", "2"),
            ("--data", SubsetDir), ("--out", outDir),
        };
        var switches = new List<string>();
        for (int i = 0; i < extra.Length; i++)
        {
            if (i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                settings.RemoveAll(s => s.Flag == extra[i]);
                settings.Add((extra[i], extra[++i]));
            }
            else switches.Add(extra[i]);
        }
        return ["train", .. settings.SelectMany(s => new[] { s.Flag, s.Value }), .. switches];
    }

    public static JsonObject Json(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
}

/// <summary>The tests that set process-wide state (threads) or train run one at a time.</summary>
[CollectionDefinition("Cli", DisableParallelization = true)]
public sealed class CliTestGroup;
