namespace Nabla.Vision.Tests;

/// <summary>Paths to the test images and scratch folders.</summary>
internal static class TestData
{
    public static string Chelsea => Path.Combine(AppContext.BaseDirectory, "data", "chelsea.png");

    static Tensor? _chelsea;

    /// <summary>The real photograph, (3, 300, 451) in [0, 1]; decoded once.</summary>
    public static Tensor ChelseaImage => _chelsea ??= Image.Load(Chelsea);

    /// <summary>A new empty folder under the temp directory.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nabla-vision-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Value of a (C, H, W) tensor at (c, y, x).</summary>
    public static float At(Tensor t, int c, int y, int x) => t.Data[(c * t.Shape[1] + y) * t.Shape[2] + x];
}
