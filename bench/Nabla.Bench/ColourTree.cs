using SkiaSharp;

/// <summary>
/// <c>colour_tree OUT [PER_CLASS]</c>: a colour image-folder tree made from shared/images/chelsea.png for
/// docs/own-images.md, a task where the object's scale varies: four classes, one per horizontal band of
/// the photo (top to bottom, so a horizontal flip keeps the class), each image a square crop (60 to 150
/// pixels a side, centred anywhere across the photo and in its band, so crops overlap their neighbours)
/// with its brightness scaled by 0.8 to 1.2; PER_CLASS training and PER_CLASS / 2 test images per class
/// (default 100), written as JPEG (quality 90) under OUT/train and OUT/test.
/// </summary>
static class ColourTree
{
    static readonly string[] Bands = ["1 haut ↑", "2 milieu-haut", "3 milieu-bas", "4 bas ↓"];

    public static int Write(string[] args)
    {
        if (args.Length is < 1 or > 2 || (args.Length == 2 && !int.TryParse(args[1], out _)))
        {
            Console.Error.WriteLine("usage: nabla-bench colour_tree OUT [PER_CLASS]");
            return 2;
        }
        string root = args[0];
        int perClass = args.Length == 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100;
        string photo = Find();
        using var source = SKBitmap.Decode(photo);
        var random = new Random(14);
        foreach (var (split, count) in new[] { ("train", perClass), ("test", perClass / 2) })
            for (int q = 0; q < Bands.Length; q++)
            {
                string dir = Path.Combine(root, split, Bands[q]);
                Directory.CreateDirectory(dir);
                for (int i = 0; i < count; i++)
                {
                    int side = random.Next(60, 151);
                    int band = source.Height / Bands.Length;
                    int cx = random.Next(source.Width), cy = q * band + random.Next(band);
                    int x = Math.Clamp(cx - side / 2, 0, source.Width - side), y = Math.Clamp(cy - side / 2, 0, source.Height - side);
                    float gain = 0.8f + 0.4f * random.NextSingle();
                    using var crop = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                    for (int yy = 0; yy < side; yy++)
                        for (int xx = 0; xx < side; xx++)
                        {
                            var c = source.GetPixel(x + xx, y + yy);
                            static byte Scale(byte v, float g) => (byte)Math.Min(255, (int)(v * g + 0.5f));
                            crop.SetPixel(xx, yy, new SKColor(Scale(c.Red, gain), Scale(c.Green, gain), Scale(c.Blue, gain)));
                        }
                    using var file = File.Create(Path.Combine(dir, $"{i:D4}.jpg"));
                    crop.Encode(file, SKEncodedImageFormat.Jpeg, 90);
                }
            }
        Console.WriteLine($"Wrote {Bands.Length * (perClass + perClass / 2)} JPEG images in {Bands.Length} classes to {root}");
        return 0;
    }

    static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "images", "chelsea.png");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("shared/images/chelsea.png beside the checkout");
    }
}
