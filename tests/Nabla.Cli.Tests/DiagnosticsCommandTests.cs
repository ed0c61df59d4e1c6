using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

/// <summary><c>nabla train --diagnostics</c>: the CSV's sampling and layers, the picture, and a resumed run continuing the file exactly.</summary>
[Collection("Cli")]
public sealed class DiagnosticsCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-diag-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Diagnostics_are_written_per_epoch_and_a_resumed_run_continues_them_exactly()
    {
        var whole = Run(Tiny(P("whole"), "--diagnostics"));
        Assert.True(whole.Code == 0, whole.Error);
        Assert.Contains("diagnostics.csv, diagnostics.png", whole.Out);
        Assert.True(new FileInfo(P("whole/diagnostics.png")).Length > 10_000);
        var lines = File.ReadAllLines(P("whole/diagnostics.csv"));
        Assert.Equal(Nabla.Training.TrainingDiagnostics.CsvHeader, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        // 270 training images (10% held out) in full batches of 32: 8 steps an epoch, so steps 1, 8 and 16.
        Assert.Equal([1, 8, 16], rows.Select(r => int.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture)).Distinct());
        var acts = rows.Where(r => r[2] == "activation").ToList();
        Assert.All(acts, r => Assert.Equal("Relu", r[4]));
        Assert.Equal(2 * 3, acts.Count); // the MLP's two hidden ReLUs at three steps
        Assert.All(acts, r => Assert.InRange(double.Parse(r[10], System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        Assert.Contains(rows, r => r[2] == "parameter" && r[3].EndsWith("weight", StringComparison.Ordinal) && double.Parse(r[13], System.Globalization.CultureInfo.InvariantCulture) > 0);

        // Interrupted in epoch 2, then resumed: the same rows, bit for bit.
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var stopped = Run(p => { if (++seen == 6) cts.Cancel(); }, cts.Token, Tiny(P("resumed"), "--diagnostics"));
        Assert.Equal(130, stopped.Code);
        var resumed = Run("train", "--resume", P("resumed"));
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Equal(lines, File.ReadAllLines(P("resumed/diagnostics.csv")));
    }

    [Fact]
    public void Sampling_interval_needs_the_diagnostics_switch()
    {
        var r = Run(Tiny(P("x"), "--diagnostics-every", "5"));
        Assert.Equal(2, r.Code);
        Assert.Contains("--diagnostics-every has no effect without --diagnostics", r.Error);
        Assert.False(Directory.Exists(P("x")));
    }
}
