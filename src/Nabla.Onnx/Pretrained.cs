using System.Reflection;

namespace Nabla.Onnx;

/// <summary>
/// Pretrained networks that come in NuGet packages, so nothing is downloaded at run time: the
/// project references the package for its files, restore puts them in NuGet's package folder, and
/// these methods find them there.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ResNet18ImageNet"/> is ML.NET's ImageNet ResNet-18 feature extractor (NuGet
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.24.0, MIT; exported by CNTK 2.6 as opset 8):
/// input (N, 3, 224, 224) as <see cref="ResNet18Preprocessing"/> makes it, output the 512 pooled
/// features (N, 512, 1, 1). It is torchvision's ResNet-18 with two more 512-channel 3x3 convolutions
/// in its last stage and no classifier: put a head of your own on it.
/// </para>
/// <para>
/// The files are looked for in the package folder recorded when Nabla.Onnx was built, then in
/// <c>$NUGET_PACKAGES</c> and <c>~/.nuget/packages</c>; <c>NABLA_RESNET18_DIR</c> names another
/// folder holding <c>ResNet18Onnx/ResNet18.onnx</c> and <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>.
/// </para>
/// </remarks>
public static class Pretrained
{
    /// <summary>The NuGet package that ships the ResNet-18 files.</summary>
    public const string ResNet18Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>Its version, the one the project references.</summary>
    public const string ResNet18PackageVersion = "0.24.0";

    /// <summary>The graph input of the ResNet-18 file.</summary>
    public const string ResNet18Input = "Input247";

    /// <summary>The graph output: the 512 average-pooled features.</summary>
    public const string ResNet18Features = "Pooling395_Output_0";

    /// <summary>The ImageNet-pretrained ResNet-18 feature extractor as a trainable module (evaluation mode).</summary>
    public static OnnxModule ResNet18ImageNet() => OnnxModule.Load(ResNet18Path());

    /// <summary>
    /// ML.NET's pre-processing as a module, loaded from the package's <c>ResNetPreprocess.onnx</c>:
    /// planar RGB in 0-255, (N, 3, 224, 224), to the model's input: channels reordered to B, G, R and
    /// a 224x224 mean image subtracted (channel means about 103.1, 115.9, 123.2). No division by 255,
    /// no std: ML.NET resizes to 224x224 and extracts pixels with scale 1, offset 0.
    /// </summary>
    public static OnnxModule ResNet18Preprocessing() => OnnxModule.Load(ResNet18PreprocessPath());

    /// <summary>The path of <c>ResNet18.onnx</c>.</summary>
    public static string ResNet18Path() => Find(Path.Combine("ResNet18Onnx", "ResNet18.onnx"));

    /// <summary>The path of <c>ResNetPreprocess.onnx</c>.</summary>
    public static string ResNet18PreprocessPath() => Find(Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    static string Find(string relative)
    {
        var tried = new List<string>();
        foreach (var dir in ModelDirs())
        {
            string path = Path.Combine(dir, relative);
            if (File.Exists(path)) return path;
            tried.Add(dir);
        }
        throw new FileNotFoundException(
            $"Pretrained: {relative} not found; it comes with the NuGet package {ResNet18Package} {ResNet18PackageVersion}, which " +
            $"`dotnet restore` of Nabla.Onnx installs (looked in {string.Join(", ", tried)}; NABLA_RESNET18_DIR names another folder)", relative);
    }

    static IEnumerable<string> ModelDirs()
    {
        if (Environment.GetEnvironmentVariable("NABLA_RESNET18_DIR") is { Length: > 0 } custom) yield return custom;
        var built = typeof(Pretrained).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Nabla.ResNet18PackagePath")?.Value;
        if (!string.IsNullOrEmpty(built)) yield return Path.Combine(built, "tools", "DnnImageModels");
        string package = Path.Combine(ResNet18Package.ToLowerInvariant(), ResNet18PackageVersion, "tools", "DnnImageModels");
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } nuget) yield return Path.Combine(nuget, package);
        yield return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", package);
    }
}
