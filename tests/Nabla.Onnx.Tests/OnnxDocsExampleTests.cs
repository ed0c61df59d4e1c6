using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>docs/onnx.md's library example, run as written (the page shows this code verbatim).</summary>
public sealed class OnnxDocsExampleTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-docs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static void Run(string modelPath)
    {
        // docs/onnx.md example begins
        var model = new Sequential(new Conv2d(3, 16, 3, padding: 1), new BatchNorm2d(16), new Relu(),
                                   new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10));
        // ... train ...
        var result = OnnxExport.Save(model, inputShape: [1, 3, 32, 32], modelPath,
            new OnnxExportOptions
            {
                InputNormalization = ([0.49f, 0.48f, 0.45f], [0.25f, 0.24f, 0.26f]),   // optional
                Metadata = new Dictionary<string, string> { ["classes"] = "[\"cat\", \"dog\"]" },
            });
        Console.WriteLine($"{result.Nodes} nodes, {result.Parameters} values, {result.FileBytes} bytes");
        // docs/onnx.md example ends
    }

    [Fact]
    public void The_library_example_runs()
    {
        string path = Path.Combine(_dir, "model.onnx");
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        try
        {
            Run(path);
        }
        finally { Console.SetOut(console); }
        Assert.Matches(@"^\d+ nodes, \d+ values, \d+ bytes", output.ToString());
        using var session = Ort.Session(path);
        Assert.Equal("[\"cat\", \"dog\"]", session.ModelMetadata.CustomMetadataMap["classes"]);

        var page = File.ReadAllText(BackendNodeTests.FindRepoFile("docs/onnx.md")).ReplaceLineEndings("\n");
        var code = File.ReadAllText(BackendNodeTests.FindRepoFile("tests/Nabla.Onnx.Tests/OnnxDocsExampleTests.cs")).ReplaceLineEndings("\n");
        string Between(string s, string a, string b) => s[(s.IndexOf(a, StringComparison.Ordinal) + a.Length)..s.IndexOf(b, StringComparison.Ordinal)];
        var snippet = string.Join('\n', Between(code, "// docs/onnx.md example begins\n", "        // docs/onnx.md example ends")
            .Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
        Assert.Contains(snippet.TrimEnd().Replace("modelPath", "\"model.onnx\"", StringComparison.Ordinal), page, StringComparison.Ordinal);
    }
}
