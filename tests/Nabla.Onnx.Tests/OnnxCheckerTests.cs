using System.Diagnostics;

namespace Nabla.Onnx.Tests;

/// <summary>
/// ONNX's own validator, <c>onnx.checker.check_model(full_check=True)</c> (with strict shape
/// inference), from Debian's python3-onnx, which .ci/run installs: every layer configuration and
/// every preset exports to a model it accepts.
/// </summary>
public sealed class OnnxCheckerTests : IDisposable
{
    const string Python = "/usr/bin/python3";
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-checker-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Every_exported_model_passes_onnx_checker()
    {
        var files = new List<string>();
        foreach (var (name, c) in LayerExportTests.Cases)
        {
            string path = Path.Combine(_dir, name + ".onnx");
            OnnxExport.Save(LayerExportTests.Build(c, seed: 1), [1, .. c.Sample], path);
            files.Add(path);
        }
        foreach (var preset in Cli.TrainConfig.Models)
        {
            string path = Path.Combine(_dir, preset + ".onnx");
            OnnxExport.Save(PresetExportTests.Build(preset, batchNorm: true), [1, 1, 28, 28], path,
                new OnnxExportOptions { InputNormalization = ([0.286f], [0.353f]), Metadata = new Dictionary<string, string> { ["classes"] = "[]" } });
            files.Add(path);
        }

        const string script = """
            import sys, onnx
            from onnx import checker
            failed = 0
            for path in sys.argv[1:]:
                try:
                    checker.check_model(onnx.load(path), full_check=True)
                    print("ok", path)
                except Exception as e:
                    failed += 1
                    print("FAILED", path, str(e).splitlines()[0] if str(e) else type(e).__name__)
            sys.exit(1 if failed else 0)
            """;
        var (code, output) = RunPython(script, files);
        Assert.True(code == 0, output);
        Assert.Equal(files.Count, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }

    static (int Code, string Output) RunPython(string script, IEnumerable<string> args)
    {
        if (!File.Exists(Python))
            Assert.Fail($"{Python} is missing: install Debian's python3-onnx (bash .ci/run does) to run ONNX's checker");
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        string output = stdout.Result + stderr.Result;
        if (output.Contains("No module named 'onnx'", StringComparison.Ordinal))
            Assert.Fail("Debian's python3-onnx is not installed (apt-get install python3-onnx; bash .ci/run installs it): " + output);
        return (process.ExitCode, output);
    }
}
