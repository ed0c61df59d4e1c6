using Nabla.Data;

namespace Nabla.Vision;

/// <summary>
/// Readers for the binary versions of CIFAR-10 and CIFAR-100 (<c>data_batch_1.bin</c> ...,
/// <c>test_batch.bin</c>; <c>train.bin</c>, <c>test.bin</c>), giving a <see cref="TensorDataset"/>
/// of images (N, 3, 32, 32) in [0, 1] and class indices (N).
/// </summary>
/// <remarks>
/// A CIFAR-10 record is 1 label byte (0 to 9) then 3072 pixel bytes: the 1024 red values of the
/// 32 x 32 image row by row, then green, then blue, i.e. already (C, H, W). A CIFAR-100 record has
/// 2 label bytes, the coarse label (20 superclasses) then the fine label (100 classes), then the
/// same 3072 pixel bytes. The file length must be a whole number of records and every label in
/// range; otherwise a <see cref="DataFormatException"/> names the file, the record and the problem.
/// </remarks>
public static class Cifar
{
    /// <summary>Pixel bytes in one record: 3 channels of 32 x 32.</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>The largest number of records read at once (the samples must fit one float array).</summary>
    const int MaxRecords = int.MaxValue / ImageBytes;

    /// <summary>Reads and concatenates CIFAR-10 binary files (e.g. the five training batches).</summary>
    /// <exception cref="DataFormatException">A file's length is not a whole number of 3073-byte records, or a label is over 9.</exception>
    public static TensorDataset Load10(params string[] paths) => Load(paths, labelBytes: 1, labelOffset: 0, "CIFAR-10");

    /// <summary>Reads and concatenates CIFAR-100 binary files, with the fine labels (100 classes) or the coarse ones (20 superclasses).</summary>
    /// <exception cref="DataFormatException">A file's length is not a whole number of 3074-byte records, or a label is out of range.</exception>
    public static TensorDataset Load100(string[] paths, bool coarse = false) =>
        Load(paths, labelBytes: 2, labelOffset: coarse ? 0 : 1, "CIFAR-100");

    /// <summary>Reads CIFAR-100 binary files with the fine labels (100 classes).</summary>
    public static TensorDataset Load100(params string[] paths) => Load100(paths, coarse: false);

    static TensorDataset Load(string[] paths, int labelBytes, int labelOffset, string format)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Length == 0)
            throw new ArgumentException($"{format}: expected at least one file; got none", nameof(paths));
        int record = labelBytes + ImageBytes;
        var files = new byte[paths.Length][];
        long total = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            var bytes = files[f] = File.ReadAllBytes(paths[f]);
            if (bytes.Length == 0)
                throw new DataFormatException(format, paths[f], "the file is empty");
            if (bytes.Length % record != 0)
                throw new DataFormatException(format, paths[f],
                    $"its length of {bytes.Length} bytes is not a whole number of {record}-byte records ({labelBytes} label byte{(labelBytes > 1 ? "s" : "")} + {ImageBytes} pixel bytes); {bytes.Length / record} whole records and {bytes.Length % record} bytes left over");
            total += bytes.Length / record;
            if (total > MaxRecords)
                throw new DataFormatException(format, paths[f], $"the files hold more than {MaxRecords} records, more than one tensor can hold");
        }

        int n = (int)total;
        var images = GC.AllocateUninitializedArray<float>(n * ImageBytes);
        var labels = new float[n];
        var scale = ImageDecoder.ByteScale;
        int i = 0;
        for (int f = 0; f < files.Length; f++)
        {
            var bytes = files[f];
            for (int r = 0; r < bytes.Length / record; r++, i++)
            {
                int offset = r * record;
                // Both CIFAR-100 labels are checked, whichever is used: a bad byte means a broken file.
                for (int b = 0; b < labelBytes; b++)
                {
                    int range = labelBytes == 1 ? 10 : b == 0 ? 20 : 100;
                    int value = bytes[offset + b];
                    if (value >= range)
                        throw new DataFormatException(format, paths[f],
                            $"{(labelBytes == 1 ? "label" : b == 0 ? "coarse label" : "fine label")} {value} in record {r} is out of range for {range} classes (expected 0 to {range - 1})");
                }
                labels[i] = bytes[offset + labelOffset];
                var pixels = bytes.AsSpan(offset + labelBytes, ImageBytes);
                var dst = images.AsSpan(i * ImageBytes, ImageBytes);
                for (int k = 0; k < ImageBytes; k++) dst[k] = scale[pixels[k]];
            }
        }
        return new TensorDataset(ImageTensor.Wrap(images, n, 3, 32, 32), ImageTensor.Wrap(labels, n));
    }
}
