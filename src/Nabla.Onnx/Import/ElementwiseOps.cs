namespace Nabla.Onnx.Import;

/// <summary>Activations, broadcasting arithmetic, Clip, Dropout and (Log)Softmax.</summary>
internal static class ElementwiseOps
{
    public static OpRun Unary(NodeInfo n, Func<Tensor, Tensor> f)
    {
        n.Allow();
        return (_, inputs) => [OnnxValue.Of(f(inputs[0]!.AsTensor()))];
    }

    public static OpRun LeakyRelu(NodeInfo n)
    {
        n.Allow("alpha");
        double alpha = n.Float("alpha", 0.01f);
        return (_, inputs) => [OnnxValue.Of(Nn.Functional.LeakyRelu(inputs[0]!.AsTensor(), alpha))];
    }

    public static OpRun Elu(NodeInfo n)
    {
        n.Allow("alpha");
        double alpha = n.Float("alpha", 1f);
        return (_, inputs) => [OnnxValue.Of(Nn.Functional.Elu(inputs[0]!.AsTensor(), alpha))];
    }

    /// <summary>
    /// Before opset 13 (Log)Softmax flattens the input to 2-D at <c>axis</c> (default 1) and
    /// normalizes each row; from 13 it normalizes along the one axis (default -1), as PyTorch.
    /// </summary>
    public static OpRun Softmax(NodeInfo n, bool log, int version)
    {
        n.Allow("axis");
        long axis = n.Int("axis", version >= 13 ? -1 : 1);
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            int a = (int)(axis < 0 ? axis + x.Rank : axis);
            if (a < 0 || a >= Math.Max(x.Rank, 1))
                throw new OnnxImportException($"{n.Display}: axis {axis} is out of range for input {x.ShapeString}");
            if (version >= 13) return [OnnxValue.Of(log ? Nn.Functional.LogSoftmax(x, a) : Nn.Functional.Softmax(x, a))];
            int rows = x.Shape[..a].ToArray().Aggregate(1, (p, d) => p * d);
            var flat = x.Reshape(rows, x.Numel / Math.Max(rows, 1));
            var y = log ? Nn.Functional.LogSoftmax(flat, 1) : Nn.Functional.Softmax(flat, 1);
            return [OnnxValue.Of(y.Reshape(x.Shape.ToArray()))];
        };
    }

    /// <summary>Add, Sub, Mul, Div with numpy broadcasting; on int64 values (shape arithmetic) exactly.</summary>
    public static OpRun Binary(NodeInfo n, char op)
    {
        n.Allow();
        return (_, inputs) =>
        {
            var (a, b) = (inputs[0]!, inputs[1]!);
            if (!a.IsFloat && !b.IsFloat) return [IntBinary(n, a, b, op)];
            var (x, y) = (a.AsTensor(), b.AsTensor());
            return [OnnxValue.Of(op switch { '+' => x + y, '-' => x - y, '*' => x * y, _ => x / y })];
        };
    }

    static OnnxValue IntBinary(NodeInfo n, OnnxValue a, OnnxValue b, char op)
    {
        var shape = Broadcast.Shape(n, a.Shape, b.Shape);
        var (x, y) = (a.Ints!, b.Ints!);
        int count = shape.Aggregate(1, (p, d) => p * d);
        var result = new long[count];
        for (int i = 0; i < count; i++)
        {
            long u = x[Broadcast.Index(i, shape, a.Shape)], v = y[Broadcast.Index(i, shape, b.Shape)];
            result[i] = op switch
            {
                '+' => u + v,
                '-' => u - v,
                '*' => u * v,
                _ => v == 0 ? throw new OnnxImportException($"{n.Display}: integer division by zero") : u / v,
            };
        }
        return OnnxValue.Of(result, shape);
    }

    /// <summary>Clip: bounds as attributes before opset 11, as optional inputs after.</summary>
    public static OpRun Clip(NodeInfo n, int version)
    {
        n.Allow(version < 11 ? ["min", "max"] : []);
        float? attrMin = version < 11 && n.Has("min") ? n.Float("min", 0) : null;
        float? attrMax = version < 11 && n.Has("max") ? n.Float("max", 0) : null;
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            float? min = version < 11 ? attrMin : inputs.Length > 1 && inputs[1] is { } lo ? lo.AsTensor().Item() : null;
            float? max = version < 11 ? attrMax : inputs.Length > 2 && inputs[2] is { } hi ? hi.AsTensor().Item() : null;
            // ONNX leaves min > max to the implementation; numpy's clip (the reference) gives max.
            if (min is { } mn && max is { } mx && mn > mx) return [OnnxValue.Of(x * 0f + mx)];
            if (min is null && max is null) return [OnnxValue.Of(x)];
            return [OnnxValue.Of(Tensor.Clamp(x, min, max))];
        };
    }

    /// <summary>
    /// Dropout: the identity in evaluation. In training mode (the module's <c>Train()</c>) it drops
    /// with the node's ratio, as PyTorch's inverted dropout; the mask output is not supported.
    /// </summary>
    public static OpRun Dropout(NodeInfo n, int version)
    {
        n.Allow(version < 12 ? ["ratio", "is_test"] : ["seed"]);
        if (n.OutputRead(1)) throw n.Unsupported("the mask output is not supported");
        float attrRatio = version < 12 ? n.Float("ratio", 0.5f) : 0.5f;
        return (ctx, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            bool forced = version >= 12 && inputs.Length > 2 && inputs[2] is { } mode && mode.AsInts()[0] != 0;
            if (!ctx.Training && !forced) return [OnnxValue.Of(x)];
            double ratio = version >= 12 && inputs.Length > 1 && inputs[1] is { } r ? r.AsTensor().Item() : attrRatio;
            return [OnnxValue.Of(Nn.Functional.Dropout(x, ratio, training: true, inverted: true, ctx.Generator))];
        };
    }
}

/// <summary>Numpy's broadcasting rule, for the int64 shape arithmetic that does not go through tensors.</summary>
internal static class Broadcast
{
    public static int[] Shape(NodeInfo n, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new OnnxImportException($"{n.Display}: shapes [{string.Join(", ", a)}] and [{string.Join(", ", b)}] do not broadcast");
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }

    /// <summary>The flat index in an operand of shape <paramref name="of"/> for flat index <paramref name="i"/> of the result.</summary>
    public static int Index(int i, int[] shape, int[] of)
    {
        int index = 0, stride = 1;
        for (int d = shape.Length - 1, k = of.Length - 1; d >= 0; d--, k--)
        {
            int coord = i % shape[d];
            i /= shape[d];
            if (k >= 0)
            {
                if (of[k] != 1) index += coord * stride;
                stride *= of[k];
            }
        }
        return index;
    }
}
