namespace Nabla.Vision;

/// <summary>
/// Bounds on an image's size, checked against the file's header before any pixel is decoded.
/// </summary>
/// <remarks>
/// A PNG of a few hundred bytes can declare 100000 x 100000 pixels (40 GB once decoded): reading
/// the dimensions first and refusing what is too large turns such a file, corrupt or hostile, into
/// a <see cref="Nabla.Data.DataFormatException"/> instead of an out-of-memory crash.
/// The file itself is read only up to <see cref="MaxFileBytes"/>, so a device that never ends is
/// refused too. Defaults: at most 8192 pixels a side, 64 M (2^26) pixels in all, and 256 MiB of file.
/// </remarks>
/// <param name="MaxSide">The largest width or height accepted, in pixels.</param>
/// <param name="MaxPixels">The largest width * height accepted.</param>
/// <param name="MaxFileBytes">The largest file accepted, in bytes.</param>
public sealed record ImageLimits(int MaxSide = 8192, long MaxPixels = 64L << 20, long MaxFileBytes = 256L << 20)
{
    /// <summary>The default limits: 8192 pixels a side, 64 M pixels in all, 256 MiB of file.</summary>
    public static ImageLimits Default { get; } = new();
}
