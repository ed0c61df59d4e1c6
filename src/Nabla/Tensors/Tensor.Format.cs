using System.Globalization;
using System.Text;

namespace Nabla;

public sealed partial class Tensor
{
    const int SummarizeAbove = 1000; // elements; above this, long dimensions show their ends only (PyTorch's threshold)
    const int EdgeItems = 3;

    /// <summary>
    /// PyTorch-style text: <c>tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=[2, 2])</c> with one
    /// row per line, plus <c>grad_fn=&lt;op&gt;</c> for a computed tensor or <c>requires_grad=True</c>
    /// for a leaf that needs a gradient. Tensors of more than 1000 elements show the first and last
    /// three entries of each long dimension, with <c>...</c> between.
    /// </summary>
    public override string ToString()
    {
        if (IsReleased) return $"tensor(<released by its TensorScope>, shape={ShapeString})";
        const string prefix = "tensor(";
        var sb = new StringBuilder(prefix);
        bool summarize = Numel > SummarizeAbove;
        var strides = ContiguousStrides(Dims);
        if (Rank == 0) sb.Append(FormatNumbers([Storage[0]])[0]);
        else if (Numel == 0) sb.Append("[]");
        else
        {
            var shown = new List<int>();
            CollectShown(0, 0, strides, summarize, shown);
            var text = FormatNumbers([.. shown.Select(o => Storage[o])]);
            int width = text.Max(s => s.Length);
            int next = 0;
            Write(sb, 0, 0, strides, summarize, prefix.Length, text, width, ref next);
        }
        sb.Append(", shape=").Append(ShapeString);
        if (GradFn is not null) sb.Append(", grad_fn=<").Append(GradFn.Op).Append('>');
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    /// <summary>The positions shown along a dimension of size n; -1 marks the "..." gap.</summary>
    static IEnumerable<int> ShownPositions(int n, bool summarize)
    {
        if (!summarize || n <= 2 * EdgeItems)
        {
            for (int i = 0; i < n; i++) yield return i;
            yield break;
        }
        for (int i = 0; i < EdgeItems; i++) yield return i;
        yield return -1;
        for (int i = n - EdgeItems; i < n; i++) yield return i;
    }

    void CollectShown(int dim, int offset, int[] strides, bool summarize, List<int> shown)
    {
        foreach (int i in ShownPositions(Dims[dim], summarize))
        {
            if (i < 0) continue;
            if (dim == Rank - 1) shown.Add(offset + i * strides[dim]);
            else CollectShown(dim + 1, offset + i * strides[dim], strides, summarize, shown);
        }
    }

    void Write(StringBuilder sb, int dim, int offset, int[] strides, bool summarize, int indent, string[] text, int width, ref int next)
    {
        sb.Append('[');
        bool first = true;
        foreach (int i in ShownPositions(Dims[dim], summarize))
        {
            if (!first)
            {
                if (dim == Rank - 1) sb.Append(", ");
                else sb.Append(',').Append('\n', Rank - 1 - dim).Append(' ', indent + dim + 1);
            }
            first = false;
            if (i < 0) sb.Append("...");
            else if (dim == Rank - 1) sb.Append(text[next++].PadLeft(width));
            else Write(sb, dim + 1, offset + i * strides[dim], strides, summarize, indent, text, width, ref next);
        }
        sb.Append(']');
    }

    /// <summary>Fixed-point with 4 decimals, or scientific when the magnitudes call for it (as PyTorch decides).</summary>
    static string[] FormatNumbers(float[] values)
    {
        double maxAbs = 0, minAbs = double.PositiveInfinity;
        foreach (float v in values)
        {
            if (!float.IsFinite(v) || v == 0) continue;
            double a = Math.Abs(v);
            maxAbs = Math.Max(maxAbs, a);
            minAbs = Math.Min(minAbs, a);
        }
        bool sci = maxAbs >= 1e8 || (minAbs < 1e-4 && maxAbs > 0) || (maxAbs / minAbs > 1000 && maxAbs >= 1e4);
        return Array.ConvertAll(values, v =>
            float.IsNaN(v) ? "nan"
            : float.IsPositiveInfinity(v) ? "inf"
            : float.IsNegativeInfinity(v) ? "-inf"
            : v.ToString(sci ? "0.0000e+00" : "0.0000", CultureInfo.InvariantCulture));
    }
}
