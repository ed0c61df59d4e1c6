namespace Nabla;

/// <summary>NumPy/PyTorch broadcasting: shapes aligned at the right, sizes equal or one of them 1.</summary>
internal static class Broadcast
{
    /// <summary>The shape two operands broadcast to, or a <see cref="ShapeException"/> naming the op.</summary>
    public static int[] Shapes(int[] a, int[] b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ShapeException(op, "shapes that broadcast (equal sizes, or 1, in each dimension aligned from the right)",
                    $"{ShapeException.Str(a)} and {ShapeException.Str(b)} (dimension {i}: {da} vs {db})");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Strides of <paramref name="dims"/> read as <paramref name="outDims"/>: 0 where broadcast.</summary>
    public static int[] Strides(int[] dims, int[] outDims)
    {
        var st = new int[outDims.Length];
        int lead = outDims.Length - dims.Length, s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            st[i + lead] = dims[i] == 1 && outDims[i + lead] != 1 ? 0 : s;
            s *= dims[i];
        }
        return st;
    }

    /// <summary>
    /// Merges adjacent dimensions that every operand walks contiguously (or not at all), so the
    /// innermost loop runs as long as possible. Returns sizes and per-operand strides, outermost first.
    /// </summary>
    public static (int[] Sizes, int[][] Strides) Collapse(int[] outDims, params int[][] strides)
    {
        var sizes = new List<int>();
        var st = new List<int>[strides.Length];
        for (int k = 0; k < strides.Length; k++) st[k] = [];
        for (int i = 0; i < outDims.Length; i++)
        {
            if (outDims[i] == 1) continue;
            int last = sizes.Count - 1;
            bool merge = last >= 0;
            for (int k = 0; k < strides.Length && merge; k++)
                merge = st[k][last] == strides[k][i] * outDims[i];
            if (merge)
            {
                sizes[last] *= outDims[i];
                for (int k = 0; k < strides.Length; k++) st[k][last] = strides[k][i];
            }
            else
            {
                sizes.Add(outDims[i]);
                for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][i]);
            }
        }
        if (sizes.Count == 0)
        {
            sizes.Add(1);
            foreach (var l in st) l.Add(0);
        }
        return ([.. sizes], Array.ConvertAll(st, l => l.ToArray()));
    }
}
