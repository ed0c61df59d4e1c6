using Nabla.Vision;
using SkiaSharp;

namespace Nabla.Cli.Tests;

/// <summary>
/// A colour image-folder tree made from shared/images/chelsea.png for the tests: crops of odd sizes as
/// classes, in PNG, JPEG and WebP, Unicode class names, a grey image among colour ones, a truncated
/// JPEG and a stray text file.
/// </summary>
internal static class ColourTree
{
    /// <summary>The four classes of the colour tree, in ordinal order (as the model numbers them).</summary>
    public static readonly string[] Classes = ["chat 🐱", "miroir", "rouge é", "синий"];

    public static string ChelseaPath()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            foreach (var candidate in new[] { Path.Combine(d.FullName, "shared", "images", "chelsea.png"), Path.Combine(d.FullName, "tests", "Nabla.Vision.Tests", "data", "chelsea.png") })
                if (File.Exists(candidate)) return candidate;
        throw new FileNotFoundException("shared/images/chelsea.png beside the checkout");
    }

    /// <summary>
    /// Writes <paramref name="perClass"/> crops of chelsea.png per class under <paramref name="root"/>:
    /// the crop as it is, mirrored, tinted red, tinted blue; sizes 41 to 160 pixels a side, PNG, JPEG and WebP
    /// in turn. Class "chat 🐱" also gets a grey image; "miroir" a truncated JPEG and a text file.
    /// Returns the number of decodable images.
    /// </summary>
    public static int Write(string root, int perClass, int seed = 0)
    {
        using var source = SKBitmap.Decode(ChelseaPath());
        var random = new Random(seed);
        int count = 0;
        for (int k = 0; k < Classes.Length; k++)
        {
            string dir = Path.Combine(root, Classes[k]);
            Directory.CreateDirectory(dir);
            for (int j = 0; j < perClass; j++)
            {
                int w = random.Next(41, 161), h = random.Next(41, 161);
                int x = random.Next(0, source.Width - w), y = random.Next(0, source.Height - h);
                using var crop = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                for (int yy = 0; yy < h; yy++)
                    for (int xx = 0; xx < w; xx++)
                    {
                        var c = source.GetPixel(k == 1 ? x + w - 1 - xx : x + xx, y + yy);
                        c = k switch
                        {
                            2 => new SKColor(c.Red, (byte)(c.Green / 2), (byte)(c.Blue / 2)),
                            3 => new SKColor((byte)(c.Red / 2), (byte)(c.Green / 2), c.Blue),
                            _ => c,
                        };
                        crop.SetPixel(xx, yy, c);
                    }
                var (format, ext) = (j % 3) switch { 0 => (SKEncodedImageFormat.Png, "png"), 1 => (SKEncodedImageFormat.Jpeg, "jpg"), _ => (SKEncodedImageFormat.Webp, "webp") };
                using (var file = File.Create(Path.Combine(dir, $"{j:D3}.{ext}")))
                    if (!crop.Encode(file, format, 90)) throw new IOException($"Skia could not encode {file.Name}");
                count++;
            }
        }
        // A grey image among colour ones, a truncated JPEG, and a file that is not an image.
        Image.Save(Image.Load(ChelseaPath(), grayscale: true), Path.Combine(root, Classes[0], "grey.png"));
        count++;
        var jpeg = File.ReadAllBytes(Directory.GetFiles(Path.Combine(root, Classes[1]), "*.jpg")[0]);
        File.WriteAllBytes(Path.Combine(root, Classes[1], "broken.jpg"), jpeg[..(jpeg.Length / 3)]);
        File.WriteAllText(Path.Combine(root, Classes[1], "notes.txt"), "not an image");
        return count;
    }

}
