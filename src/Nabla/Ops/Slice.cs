namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// The box starting at <paramref name="starts"/> with sizes <paramref name="lengths"/> (arguments
    /// already validated). Its gradient pads g back with zeros: slicing and padding are each
    /// other's backward.
    /// </summary>
    internal static Tensor SliceRegion(Tensor x, int[] starts, int[] lengths)
    {
        var xst = ContiguousStrides(x.Dims);
        int offset = 0;
        for (int d = 0; d < x.Rank; d++) offset += starts[d] * xst[d];
        var y = new Tensor((int[])lengths.Clone(), clear: false);
        StridedCopy(x.Storage, offset, xst, y.Storage, 0, ContiguousStrides(lengths), lengths);
        return Record(y, "slice", [x], g =>
        {
            var after = new int[x.Rank];
            for (int d = 0; d < x.Rank; d++) after[d] = x.Dims[d] - starts[d] - lengths[d];
            return [PadRegion(g, starts, after, 0f)];
        });
    }

    /// <summary>x surrounded by <paramref name="before"/>/<paramref name="after"/> elements of <paramref name="value"/> per dimension (validated, non-negative).</summary>
    internal static Tensor PadRegion(Tensor x, int[] before, int[] after, float value)
    {
        var dims = new int[x.Rank];
        for (int d = 0; d < x.Rank; d++) dims[d] = before[d] + x.Dims[d] + after[d];
        CheckedNumel(dims, "pad");
        var y = new Tensor(dims, clear: value == 0);
        if (value != 0) y.Span.Fill(value);
        var yst = ContiguousStrides(dims);
        int offset = 0;
        for (int d = 0; d < x.Rank; d++) offset += before[d] * yst[d];
        StridedCopy(x.Storage, 0, ContiguousStrides(x.Dims), y.Storage, offset, yst, x.Dims);
        return Record(y, "pad", [x], g => [SliceRegion(g, before, x.Dims)]);
    }

    /// <summary>
    /// The elements start .. start + length - 1 along <paramref name="dim"/>, as <c>torch.narrow</c>;
    /// a negative start counts from the end. The result is a copy.
    /// </summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = NormalizeDim(dim, Rank, "narrow", Dims);
        if (Rank == 0) throw new ShapeException("narrow", "a tensor with at least one dimension", "a scalar");
        int size = Dims[d];
        int s = start < 0 ? start + size : start;
        if (s < 0 || s > size || length < 0 || s + (long)length > size)
            throw new ShapeException("narrow", $"0 <= start <= start + length <= {size} (dim {d} of input {ShapeString})",
                $"start = {start}, length = {length}");
        var starts = new int[Rank];
        var lengths = (int[])Dims.Clone();
        starts[d] = s;
        lengths[d] = length;
        return SliceRegion(this, starts, lengths);
    }

    /// <summary>
    /// The elements in <paramref name="range"/> along <paramref name="dim"/>: <c>x.Slice(1, 2..^1)</c>
    /// is PyTorch's <c>x[:, 2:-1]</c>. Out-of-range bounds are an error, as for C# arrays (Python would clamp).
    /// </summary>
    public Tensor Slice(int dim, Range range)
    {
        int d = NormalizeDim(dim, Rank, "slice", Dims);
        if (Rank == 0) throw new ShapeException("slice", "a tensor with at least one dimension", "a scalar");
        var (s, e) = RangeBounds(range, d, "slice");
        return Narrow(d, s, e - s);
    }

    /// <summary>
    /// Slices several leading dimensions at once: <c>x[1..3, ..]</c>. Dimensions without a range are
    /// kept whole. The result is a copy.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("Slices")] // the default name, Item, is the Item() method
    public Tensor this[params Range[] ranges]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(ranges);
            if (ranges.Length > Rank)
                throw new ShapeException("index", $"at most {Rank} ranges for input {ShapeString}", $"{ranges.Length} ranges");
            var starts = new int[Rank];
            var lengths = (int[])Dims.Clone();
            for (int d = 0; d < ranges.Length; d++)
            {
                var (s, e) = RangeBounds(ranges[d], d, "index");
                starts[d] = s;
                lengths[d] = e - s;
            }
            return SliceRegion(this, starts, lengths);
        }
    }

    /// <summary>Start and end of a C# range over dimension <paramref name="d"/>, which must lie within it.</summary>
    (int Start, int End) RangeBounds(Range range, int d, string op)
    {
        int size = Dims[d];
        int s = range.Start.GetOffset(size), e = range.End.GetOffset(size);
        if (s < 0 || e > size || s > e)
            throw new ShapeException(op, $"a range within 0..{size} (dim {d} of input {ShapeString})", $"{range} (from {s} to {e})");
        return (s, e);
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, with that dimension removed, as <c>torch.select</c>.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = NormalizeDim(dim, Rank, "select", Dims);
        if (Rank == 0) throw new ShapeException("select", "a tensor with at least one dimension", "a scalar");
        int size = Dims[d];
        if (index < -size || index >= size)
            throw new ShapeException("select", $"an index in [{-size}, {size - 1}] (dim {d} of input {ShapeString})", $"index = {index}");
        return Narrow(d, index < 0 ? index + size : index, 1).Squeeze(d);
    }

    /// <summary>
    /// Pads with a constant, as <c>torch.nn.functional.pad(x, pads, value=value)</c>:
    /// <paramref name="pads"/> holds (before, after) pairs starting from the last dimension, so
    /// <c>[1, 1, 2, 2]</c> adds one column each side and two rows above and below. Pads must be
    /// non-negative. The gradient is the slice of g where x sits.
    /// </summary>
    public static Tensor Pad(Tensor x, int[] pads, float value = 0f)
    {
        ArgumentNullException.ThrowIfNull(pads);
        if (pads.Length % 2 != 0 || pads.Length > 2 * x.Rank)
            throw new ShapeException("pad", $"an even number of pad sizes, at most {2 * x.Rank} for input {x.ShapeString}",
                $"{pads.Length} sizes {ShapeException.Str(pads)}");
        var before = new int[x.Rank];
        var after = new int[x.Rank];
        for (int i = 0; i < pads.Length / 2; i++)
        {
            int d = x.Rank - 1 - i;
            if (pads[2 * i] < 0 || pads[2 * i + 1] < 0)
                throw new ShapeException("pad", "non-negative pad sizes", $"{ShapeException.Str(pads)}", "negative padding (cropping) is not supported; use Narrow or Slice");
            before[d] = pads[2 * i];
            after[d] = pads[2 * i + 1];
        }
        return PadRegion(x, before, after, value);
    }

    /// <summary>Instance form of <see cref="Pad(Tensor, int[], float)"/>.</summary>
    public Tensor Pad(int[] pads, float value = 0f) => Pad(this, pads, value);
}
