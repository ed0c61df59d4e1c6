namespace Nabla.Onnx.Import;

/// <summary>
/// Shape and data-movement ops. Each works on float tensors (differentiably) and on int64 values
/// (shapes, axes), so the shape arithmetic of PyTorch's exports evaluates whatever the batch size.
/// </summary>
internal static class ShapeOps
{
    /// <summary>Runs a data-movement op on a value of either kind: int64s go through an exact float round trip.</summary>
    static OnnxValue Move(NodeInfo n, OnnxValue v, Func<Tensor, Tensor> f)
    {
        if (v.IsFloat) return OnnxValue.Of(f(v.Float!));
        if (v.Ints!.Any(i => i > 1 << 24 || i < -(1 << 24)))
            throw new OnnxImportException($"{n.Display}: int64 values beyond 2^24 are only supported as shapes");
        var t = f(v.AsTensor());
        return OnnxValue.Of([.. t.ToArray().Select(x => (long)x)], t.Shape.ToArray());
    }

    static int Axis(NodeInfo n, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new OnnxImportException($"{n.Display}: axis {axis} is out of range for rank {rank}");
        return (int)a;
    }

    public static OpRun Identity(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) => [inputs[0]!];
    }

    public static OpRun Flatten(NodeInfo n)
    {
        n.Allow("axis");
        long axis = n.Int("axis", 1);
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            long a = axis < 0 ? axis + x.Rank : axis;
            if (a < 0 || a > x.Rank) throw new OnnxImportException($"{n.Display}: axis {axis} is out of range for rank {x.Rank}");
            int rows = x.Shape[..(int)a].Aggregate(1, (p, d) => p * d), cols = x.Shape[(int)a..].Aggregate(1, (p, d) => p * d);
            return [x.Reshape([rows, cols])];
        };
    }

    /// <summary>Reshape: 0 copies the input's dimension (unless allowzero), -1 is inferred.</summary>
    public static OpRun Reshape(NodeInfo n, int version)
    {
        n.Allow(version >= 14 ? ["allowzero"] : []);
        bool allowZero = version >= 14 && n.IntIn("allowzero", 0, 0, 1) == 1;
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            var spec = inputs[1]!.AsInts();
            var shape = new int[spec.Length];
            int infer = -1;
            long known = 1;
            for (int i = 0; i < spec.Length; i++)
            {
                long s = spec[i];
                if (s == 0 && !allowZero)
                {
                    if (i >= x.Rank) throw new OnnxImportException($"{n.Display}: shape [{string.Join(", ", spec)}] copies dimension {i} of an input of rank {x.Rank}");
                    s = x.Shape[i];
                }
                if (s == -1)
                {
                    if (infer >= 0) throw new OnnxImportException($"{n.Display}: shape [{string.Join(", ", spec)}] has more than one -1");
                    infer = i;
                    continue;
                }
                if (s < 0 || s > int.MaxValue) throw new OnnxImportException($"{n.Display}: shape [{string.Join(", ", spec)}] has an invalid size {s}");
                shape[i] = (int)s;
                known *= s;
            }
            long total = x.Shape.Aggregate(1L, (p, d) => p * d);
            if (infer >= 0)
            {
                if (known == 0 || total % known != 0)
                    throw new OnnxImportException($"{n.Display}: cannot reshape [{string.Join(", ", x.Shape)}] to [{string.Join(", ", spec)}]");
                shape[infer] = (int)(total / known);
            }
            else if (known != total)
                throw new OnnxImportException($"{n.Display}: cannot reshape [{string.Join(", ", x.Shape)}] ({total} values) to [{string.Join(", ", shape)}]");
            return [x.Reshape(shape)];
        };
    }

    public static OpRun Transpose(NodeInfo n)
    {
        n.Allow("perm");
        var perm = n.Ints("perm");
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            int[] p = perm is null ? [.. Enumerable.Range(0, x.Rank).Reverse()] : [.. perm.Select(v => (int)v)];
            if (p.Length != x.Rank || p.Order().Where((v, i) => v != i).Any())
                throw new OnnxImportException($"{n.Display}: perm [{string.Join(", ", p)}] is not a permutation of rank {x.Rank}");
            return [Move(n, x, t => t.Permute(p))];
        };
    }

    public static OpRun Concat(NodeInfo n)
    {
        n.Allow("axis");
        if (!n.Has("axis")) throw n.Unsupported("axis is required");
        long axis = n.Int("axis", 0);
        return (_, inputs) =>
        {
            var values = inputs.Where(v => v is not null).Select(v => v!).ToArray();
            int a = Axis(n, axis, values[0].Rank);
            if (values.All(v => !v.IsFloat)) return [ConcatInts(n, values, a)];
            return [OnnxValue.Of(Tensor.Cat([.. values.Select(v => v.AsTensor())], a))];
        };
    }

    /// <summary>Concat of int64 values (shapes), exactly: block by block along the axis.</summary>
    static OnnxValue ConcatInts(NodeInfo n, OnnxValue[] values, int axis)
    {
        var first = values[0].Shape;
        foreach (var v in values)
            if (v.Rank != first.Length || Enumerable.Range(0, first.Length).Any(d => d != axis && v.Shape[d] != first[d]))
                throw new OnnxImportException($"{n.Display}: shapes [{string.Join(", ", first)}] and [{string.Join(", ", v.Shape)}] do not concatenate along axis {axis}");
        int outer = first[..axis].Aggregate(1, (p, d) => p * d);
        var result = new List<long>();
        for (int o = 0; o < outer; o++)
            foreach (var v in values)
            {
                int block = v.Shape[axis..].Aggregate(1, (p, d) => p * d);
                result.AddRange(v.Ints!.AsSpan(o * block, block).ToArray());
            }
        int[] shape = [.. first];
        shape[axis] = values.Sum(v => v.Shape[axis]);
        return OnnxValue.Of([.. result], shape);
    }

    /// <summary>Split: sizes from the <c>split</c> attribute (before 13) or input (13 on), else equal parts.</summary>
    public static OpRun Split(NodeInfo n, int version)
    {
        n.Allow(version < 13 ? ["axis", "split"] : ["axis"]);
        long axis = n.Int("axis", 0);
        var attrSizes = version < 13 ? n.Ints("split") : null;
        int outputs = n.Proto.Output.Count;
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            int a = Axis(n, axis, x.Rank);
            var sizes = version >= 13 && inputs.Length > 1 && inputs[1] is { } s ? s.AsInts() : attrSizes;
            int dim = x.Shape[a];
            if (sizes is null)
            {
                if (dim % outputs != 0) throw new OnnxImportException($"{n.Display}: {dim} does not split into {outputs} equal parts");
                sizes = [.. Enumerable.Repeat((long)(dim / outputs), outputs)];
            }
            if (sizes.Length != outputs || sizes.Any(v => v < 0) || sizes.Sum() != dim)
                throw new OnnxImportException($"{n.Display}: split sizes [{string.Join(", ", sizes)}] do not divide dimension {a} of size {dim} into {outputs} outputs");
            var result = new OnnxValue[outputs];
            int start = 0;
            for (int i = 0; i < outputs; i++)
            {
                int len = (int)sizes[i], from = start;
                result[i] = Move(n, x, t => t.Narrow(a, from, len));
                start += len;
            }
            return result;
        };
    }

    /// <summary>Squeeze: axes from the attribute (before 13) or the optional input; none squeezes every 1.</summary>
    public static OpRun Squeeze(NodeInfo n, int version)
    {
        n.Allow(version < 13 ? ["axes"] : []);
        var attrAxes = version < 13 ? n.Ints("axes") : null;
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            var axes = version >= 13 && inputs.Length > 1 && inputs[1] is { } s ? s.AsInts() : attrAxes;
            var drop = axes is null
                ? Enumerable.Range(0, x.Rank).Where(i => x.Shape[i] == 1).ToHashSet()
                : axes.Select(a => Axis(n, a, x.Rank)).ToHashSet();
            foreach (int d in drop)
                if (x.Shape[d] != 1) throw new OnnxImportException($"{n.Display}: cannot squeeze dimension {d} of size {x.Shape[d]}");
            return [x.Reshape([.. x.Shape.Where((_, i) => !drop.Contains(i))])];
        };
    }

    /// <summary>Unsqueeze: axes from the attribute (before 13) or the input, counted in the output's rank.</summary>
    public static OpRun Unsqueeze(NodeInfo n, int version)
    {
        n.Allow(version < 13 ? ["axes"] : []);
        var attrAxes = version < 13 ? n.Ints("axes") ?? throw n.Unsupported("axes is required") : null;
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            var axes = attrAxes ?? inputs[1]?.AsInts() ?? throw new OnnxImportException($"{n.Display}: the axes input is required");
            int rank = x.Rank + axes.Length;
            var insert = axes.Select(a => Axis(n, a, rank)).ToHashSet();
            if (insert.Count != axes.Length) throw new OnnxImportException($"{n.Display}: axes [{string.Join(", ", axes)}] repeat");
            var shape = new int[rank];
            for (int i = 0, j = 0; i < rank; i++) shape[i] = insert.Contains(i) ? 1 : x.Shape[j++];
            return [x.Reshape(shape)];
        };
    }

    /// <summary>Shape, with version 15's start and end (clamped, negative from the end).</summary>
    public static OpRun Shape(NodeInfo n, int version)
    {
        n.Allow(version >= 15 ? ["start", "end"] : []);
        long start = n.Int("start", 0);
        long? end = n.Has("end") ? n.Int("end", 0) : null;
        return (_, inputs) =>
        {
            var x = inputs[0]!;
            int r = x.Rank;
            int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + r : v, 0, r);
            int s = Clamp(start), e = Clamp(end ?? r);
            long[] dims = [.. x.Shape[s..Math.Max(s, e)].Select(d => (long)d)];
            return [OnnxValue.Of(dims, [dims.Length])];
        };
    }

    /// <summary>Gather along <c>axis</c>: output shape data[:axis] + indices + data[axis+1:]; negative indices count from the end.</summary>
    public static OpRun Gather(NodeInfo n)
    {
        n.Allow("axis");
        long axis = n.Int("axis", 0);
        return (_, inputs) =>
        {
            var (data, indices) = (inputs[0]!, inputs[1]!);
            int a = Axis(n, axis, data.Rank);
            int size = data.Shape[a];
            var idx = indices.AsInts().Select(i => i < 0 ? i + size : i).ToArray();
            if (idx.Any(i => i < 0 || i >= size))
                throw new OnnxImportException($"{n.Display}: an index is out of range for dimension {a} of size {size}");
            int[] shape = [.. data.Shape[..a], .. indices.Shape, .. data.Shape[(a + 1)..]];
            var index = Tensor.FromArray([.. idx.Select(i => (float)i)], idx.Length);
            return [Move(n, data, t => t.IndexSelect(a, index).Reshape(shape))];
        };
    }

    public static OpRun Constant(NodeInfo n)
    {
        n.Allow("value", "value_float", "value_floats", "value_int", "value_ints");
        OnnxValue value;
        if (n.TensorAttr("value") is { } t) value = TensorReader.Read(t, $"{n.Display} value", modelDir: null);
        else if (n.Has("value_float")) value = OnnxValue.Of(Tensor.Scalar(n.Float("value_float", 0)));
        else if (n.Floats("value_floats") is { } fs) value = OnnxValue.Of(Tensor.FromArray(fs, fs.Length));
        else if (n.Has("value_int")) value = OnnxValue.Scalar(n.Int("value_int", 0));
        else if (n.Ints("value_ints") is { } ints) value = OnnxValue.Of(ints, [ints.Length]);
        else throw n.Unsupported("no value (supported: value, value_float(s), value_int(s))");
        return (_, _) => [value];
    }

    /// <summary>
    /// Pad: pads (begin..., end...) as an attribute (before 11) or input; constant (with its value),
    /// reflect and edge modes; negative pads crop.
    /// </summary>
    public static OpRun Pad(NodeInfo n, int version)
    {
        n.Allow(version < 11 ? ["mode", "pads", "value"] : ["mode"]);
        string mode = n.String("mode", "constant");
        if (mode is not ("constant" or "reflect" or "edge")) throw n.Unsupported($"mode '{mode}' is not supported (supported: constant, reflect, edge)");
        var attrPads = version < 11 ? n.Ints("pads") ?? throw n.Unsupported("pads is required") : null;
        float attrValue = version < 11 ? n.Float("value", 0) : 0;
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            var pads = attrPads ?? inputs[1]!.AsInts();
            float value = version >= 11 && inputs.Length > 2 && inputs[2] is { } v ? v.AsTensor().Item() : attrValue;
            if (pads.Length != 2 * x.Rank) throw new OnnxImportException($"{n.Display}: {pads.Length} pads for an input of rank {x.Rank}");
            for (int d = 0; d < x.Rank; d++)
            {
                int before = (int)pads[d], after = (int)pads[d + x.Rank], size = x.Shape[d];
                if (before < 0) { x = x.Narrow(d, -before, size + before); size += before; before = 0; }
                if (after < 0) { x = x.Narrow(d, 0, size + after); size += after; after = 0; }
                if (before == 0 && after == 0) continue;
                if (mode == "constant")
                {
                    var p = new int[2 * (x.Rank - d)];
                    (p[^2], p[^1]) = (before, after);
                    x = x.Pad(p, value);
                    continue;
                }
                if (mode == "reflect" && (before >= size || after >= size))
                    throw new OnnxImportException($"{n.Display}: reflect pads of {before} and {after} need a dimension larger than {size}");
                // Edge and reflect are a gather of existing positions.
                var index = Enumerable.Range(-before, size + before + after).Select(i =>
                    mode == "edge" ? Math.Clamp(i, 0, size - 1) : i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
                x = x.IndexSelect(d, Tensor.FromArray([.. index.Select(i => (float)i)], size + before + after));
            }
            return [OnnxValue.Of(x)];
        };
    }

    /// <summary>ReduceMean and ReduceMax: over the <c>axes</c> attribute (every axis when absent), keepdims default 1.</summary>
    public static OpRun Reduce(NodeInfo n, Func<Tensor, int[], bool, Tensor> reduce)
    {
        n.Allow("axes", "keepdims");
        var axes = n.Ints("axes");
        bool keep = n.IntIn("keepdims", 1, 0, 1) == 1;
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            int[] dims = axes is null ? [.. Enumerable.Range(0, x.Rank)] : [.. axes.Select(a => Axis(n, a, x.Rank))];
            return [OnnxValue.Of(reduce(x, dims, keep))];
        };
    }
}
