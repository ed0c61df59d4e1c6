namespace Nabla.Vision.Transforms;

/// <summary>
/// A random affine map about the image centre (rotation, translation, scale and shear), as
/// torchvision's <c>RandomAffine(degrees, translate, scale, shear)</c>, without expansion; output pixels
/// that come from outside the image are <see cref="Fill"/>.
/// </summary>
/// <remarks>
/// Draws, in torchvision's order (a draw is skipped where its range is a single value, or not given):
/// the angle uniform in [-degrees, degrees]; then tx = round(u W) with u uniform in
/// [-translate.x, translate.x], and ty = round(v H) with v in [-translate.y, translate.y] (whole pixels,
/// rounding half to even); then the scale uniform in [scale.min, scale.max]; then the shear along x, in
/// degrees, uniform in [shear.min, shear.max].
/// The forward map is torchvision's <c>T C R S Sh C^-1</c> (C the centre ((W - 1) / 2, (H - 1) / 2)); as in
/// torchvision's <c>F.affine</c>, a positive angle turns the content clockwise (the opposite of
/// <see cref="RandomRotation"/>, which is torchvision's <c>F.rotate</c>), and a positive tx moves it right.
/// Each output pixel samples the input at the inverse map of its position: nearest neighbour (rounding
/// half to even) by default, as torchvision, or bilinear.
/// Small affine jitter teaches invariance to the pose and framing of an object.
/// </remarks>
public sealed class RandomAffine : ITransform
{
    /// <summary>Creates the transform; see the type's remarks for each range.</summary>
    /// <param name="degrees">Angles are drawn from [-degrees, degrees]; 0 for none.</param>
    /// <param name="translate">Largest shifts as fractions (x of the width, y of the height), each in [0, 1]; null for none.</param>
    /// <param name="scale">Scale range (min, max), both positive; null for 1.</param>
    /// <param name="shear">Shear range along x, in degrees (min, max); null for none.</param>
    /// <param name="bilinear">Whether to interpolate bilinearly instead of taking the nearest pixel.</param>
    /// <param name="fill">The value of output pixels that fall outside the input.</param>
    public RandomAffine(double degrees, (double X, double Y)? translate = null, (double Min, double Max)? scale = null,
        (double Min, double Max)? shear = null, bool bilinear = false, float fill = 0f)
    {
        if (!(degrees >= 0) || double.IsInfinity(degrees))
            throw new ArgumentOutOfRangeException(nameof(degrees), $"If degrees is a single number, it must be positive; got {degrees}");
        if (translate is var (tx, ty) && !(tx >= 0 && tx <= 1 && ty >= 0 && ty <= 1))
            throw new ArgumentOutOfRangeException(nameof(translate), $"translation values should be between 0 and 1; got ({tx}, {ty})");
        if (scale is var (s0, s1) && !(s0 > 0 && s0 <= s1 && !double.IsInfinity(s1)))
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale values should be positive, with min <= max; got ({s0}, {s1})");
        if (shear is var (h0, h1) && !(h0 <= h1 && h0 > -90 && h1 < 90))
            throw new ArgumentOutOfRangeException(nameof(shear), $"RandomAffine: expected shear degrees with min <= max inside (-90, 90); got ({h0}, {h1})");
        Degrees = degrees;
        Translate = translate;
        Scale = scale;
        Shear = shear;
        Bilinear = bilinear;
        Fill = fill;
    }

    /// <summary>The largest angle, in degrees (angles are drawn from [-Degrees, Degrees]).</summary>
    public double Degrees { get; }

    /// <summary>The largest shifts as fractions of the width (X) and height (Y), or null for none.</summary>
    public (double X, double Y)? Translate { get; }

    /// <summary>The scale range, or null for a scale of 1.</summary>
    public (double Min, double Max)? Scale { get; }

    /// <summary>The range of the shear along x, in degrees, or null for none.</summary>
    public (double Min, double Max)? Shear { get; }

    /// <summary>Whether to interpolate bilinearly instead of taking the nearest pixel.</summary>
    public bool Bilinear { get; }

    /// <summary>The value of output pixels that fall outside the input.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "RandomAffine");
        ArgumentNullException.ThrowIfNull(generator);
        var (angle, tx, ty, scale, shear) = Sample(h, w, generator);
        return ImageTensor.Wrap(Warp(image.Data, c, h, w, InverseMatrix(angle, tx, ty, scale, shear), Bilinear, Fill), c, h, w);
    }

    /// <summary>The parameters drawn for an H x W image, in torchvision's order.</summary>
    internal (double Angle, int Tx, int Ty, double Scale, double ShearX) Sample(int h, int w, Generator generator)
    {
        double angle = Degrees == 0 ? 0 : Pixels.Uniform(generator, -Degrees, Degrees);
        int tx = 0, ty = 0;
        if (Translate is var (fx, fy))
        {
            double dx = fx * w, dy = fy * h;
            tx = (int)Math.Round(dx == 0 ? 0 : Pixels.Uniform(generator, -dx, dx), MidpointRounding.ToEven);
            ty = (int)Math.Round(dy == 0 ? 0 : Pixels.Uniform(generator, -dy, dy), MidpointRounding.ToEven);
        }
        double scale = Scale is var (s0, s1) ? (s0 == s1 ? s0 : Pixels.Uniform(generator, s0, s1)) : 1;
        double shear = Shear is var (h0, h1) ? (h0 == h1 ? h0 : Pixels.Uniform(generator, h0, h1)) : 0;
        return (angle, tx, ty, scale, shear);
    }

    /// <summary>
    /// torchvision's <c>_get_inverse_affine_matrix</c> about the centre: the 2 x 3 matrix taking an output
    /// position relative to the centre to the input position relative to the centre.
    /// </summary>
    internal static double[] InverseMatrix(double angle, double tx, double ty, double scale, double shearX)
    {
        double rot = angle * Math.PI / 180, sx = shearX * Math.PI / 180;
        // Snapped so that quarter turns and zero shear give exact integers.
        double cosR = Math.Round(Math.Cos(rot), 15), sinR = Math.Round(Math.Sin(rot), 15), tanS = Math.Round(Math.Tan(sx), 15);
        // Forward RSS = [[a, b], [c, d]] (shear along y is 0); its inverse is [[d, -b], [-c, a]] / scale.
        double a = cosR, b = -cosR * tanS - sinR, c = sinR, d = -sinR * tanS + cosR;
        var m = new[] { d / scale, -b / scale, 0, -c / scale, a / scale, 0 };
        m[2] = m[0] * -tx + m[1] * -ty;
        m[5] = m[3] * -tx + m[4] * -ty;
        return m;
    }

    /// <summary>
    /// Resamples a (C, H, W) image through an inverse map about the centre (cx, cy) = ((W - 1) / 2, (H - 1) / 2):
    /// output (x, y) takes the input at (cx + m0 dx + m1 dy + m2, cy + m3 dx + m4 dy + m5), dx = x - cx, dy = y - cy.
    /// </summary>
    internal static float[] Warp(ReadOnlySpan<float> src, int c, int h, int w, ReadOnlySpan<double> m, bool bilinear, float fill)
    {
        double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
        var dst = GC.AllocateUninitializedArray<float>(c * h * w);
        int plane = h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double dx = x - cx, dy = y - cy;
                double sx = cx + m[0] * dx + m[1] * dy + m[2];
                double sy = cy + m[3] * dx + m[4] * dy + m[5];
                int o = y * w + x;
                if (!bilinear)
                {
                    int ix = (int)Math.Round(sx, MidpointRounding.ToEven), iy = (int)Math.Round(sy, MidpointRounding.ToEven);
                    bool inside = (uint)ix < (uint)w && (uint)iy < (uint)h;
                    for (int ch = 0; ch < c; ch++)
                        dst[ch * plane + o] = inside ? src[ch * plane + iy * w + ix] : fill;
                    continue;
                }
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                float fx = (float)(sx - x0), fy = (float)(sy - y0);
                for (int ch = 0; ch < c; ch++)
                {
                    var p = src.Slice(ch * plane, plane);
                    float v00 = Tap(p, w, h, x0, y0, fill), v01 = Tap(p, w, h, x0 + 1, y0, fill);
                    float v10 = Tap(p, w, h, x0, y0 + 1, fill), v11 = Tap(p, w, h, x0 + 1, y0 + 1, fill);
                    float top = v00 + (v01 - v00) * fx, bottom = v10 + (v11 - v10) * fx;
                    dst[ch * plane + o] = top + (bottom - top) * fy;
                }
            }
        return dst;
    }

    static float Tap(ReadOnlySpan<float> plane, int w, int h, int x, int y, float fill) =>
        (uint)x < (uint)w && (uint)y < (uint)h ? plane[y * w + x] : fill;
}
