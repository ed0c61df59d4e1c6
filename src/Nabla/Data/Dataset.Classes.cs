namespace Nabla.Data;

public static partial class Dataset
{
    /// <summary>
    /// Follows a chain of subsets down to a <see cref="TensorDataset"/>: the tensor dataset and the
    /// index into it of each sample (null when the dataset is the tensor dataset itself).
    /// Null when the chain ends in another kind of dataset.
    /// </summary>
    internal static (TensorDataset Root, int[]? Map)? ResolveTensorDataset(IDataset dataset)
    {
        int[]? map = null;
        while (dataset is Subset s)
        {
            var inner = s.IndexArray;
            if (map is null) map = (int[])inner.Clone();
            else for (int i = 0; i < map.Length; i++) map[i] = inner[map[i]];
            dataset = s.Dataset;
        }
        return dataset is TensorDataset t ? (t, map) : null;
    }

    /// <summary>The class of every sample: its target, a one-element tensor holding a non-negative integer.</summary>
    internal static int[] ClassLabels(IDataset dataset, string op)
    {
        int n = dataset.Count;
        var labels = new int[n];
        if (ResolveTensorDataset(dataset) is var (root, map) && root.Targets.Numel == root.Count)
        {
            var t = root.Targets.Data;
            for (int i = 0; i < n; i++) labels[i] = ClassOf(t[map is null ? i : map[i]], i, op);
            return labels;
        }
        for (int i = 0; i < n; i++)
        {
            var target = dataset.Get(i).Target;
            if (target.Numel != 1)
                throw new ShapeException(op, "class targets holding one value per sample", $"a target of shape {target.ShapeString} at index {i}");
            labels[i] = ClassOf(target.Data[0], i, op);
        }
        return labels;
    }

    static int ClassOf(float v, int index, string op)
    {
        if (!(v >= 0 && v < (1 << 24)) || v != MathF.Floor(v))
            throw new ArgumentException($"{op}: expected class targets that are non-negative integers; got {v} at index {index}");
        return (int)v;
    }

    /// <summary>The indices of each class present, classes in ascending order, indices ascending within each.</summary>
    static List<List<int>> ClassIndices(IDataset dataset, string op)
    {
        var labels = ClassLabels(dataset, op);
        var byClass = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (!byClass.TryGetValue(labels[i], out var list)) byClass[labels[i]] = list = [];
            list.Add(i);
        }
        return [.. byClass.Values];
    }
}
