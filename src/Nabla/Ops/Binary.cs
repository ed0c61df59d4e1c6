using System.Numerics.Tensors;

namespace Nabla;

/// <summary>The element-wise binary operations, each with its broadcasting forward kernel.</summary>
internal enum BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge }

public sealed partial class Tensor
{
    /// <summary>
    /// Runs a binary kernel with broadcasting: whole spans when shapes agree, span-with-scalar when
    /// one side is a single value, otherwise rows of the collapsed broadcast iteration.
    /// </summary>
    internal static Tensor BinaryForward(Tensor a, Tensor b, BinaryOp op, string name)
    {
        if (a.SameShape(b))
        {
            var o = new Tensor((int[])a.Dims.Clone(), clear: false);
            Row(op, a.Storage, 1, b.Storage, 1, o.Storage);
            return o;
        }
        var outDims = Broadcast.Shapes(a.Dims, b.Dims, name);
        var r = new Tensor(outDims, clear: false);
        if (r.Numel == 0) return r;
        var (sizes, st) = Broadcast.Collapse(outDims, Broadcast.Strides(a.Dims, outDims), Broadcast.Strides(b.Dims, outDims));
        int rank = sizes.Length, inner = sizes[rank - 1];
        int sa = st[0][rank - 1], sb = st[1][rank - 1];
        var idx = new int[rank];
        int offA = 0, offB = 0;
        var rs = r.Storage;
        for (int o = 0; o < rs.Length; o += inner)
        {
            Row(op, a.Storage.AsSpan(offA, sa == 0 ? 1 : inner), sa, b.Storage.AsSpan(offB, sb == 0 ? 1 : inner), sb,
                rs.AsSpan(o, inner));
            for (int d = rank - 2; d >= 0; d--) // odometer over the outer dimensions
            {
                offA += st[0][d]; offB += st[1][d];
                if (++idx[d] < sizes[d]) break;
                offA -= st[0][d] * sizes[d]; offB -= st[1][d] * sizes[d];
                idx[d] = 0;
            }
        }
        return r;
    }

    /// <summary>One row: x and y have stride 1, or stride 0 (a single value repeated).</summary>
    static void Row(BinaryOp op, ReadOnlySpan<float> x, int sx, ReadOnlySpan<float> y, int sy, Span<float> d)
    {
        if (sx == 1 && sy == 1)
        {
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x, y, d); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, d); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, d); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x, y, d); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(x, y, d); return;
                case BinaryOp.Maximum: TensorPrimitives.Max(x, y, d); return;
                case BinaryOp.Minimum: TensorPrimitives.Min(x, y, d); return;
            }
        }
        else if (sy == 0 && sx == 1)
        {
            float s = y[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x, s, d); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x, s, d); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x, s, d); return;
                case BinaryOp.Div: TensorPrimitives.Divide(x, s, d); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(x, s, d); return;
                case BinaryOp.Maximum: TensorPrimitives.Max(x, s, d); return;
                case BinaryOp.Minimum: TensorPrimitives.Min(x, s, d); return;
            }
        }
        else if (sx == 0 && sy == 1)
        {
            float s = x[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(y, s, d); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, y, d); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(y, s, d); return;
                case BinaryOp.Div: TensorPrimitives.Divide(s, y, d); return;
                case BinaryOp.Pow: TensorPrimitives.Pow(s, y, d); return;
                case BinaryOp.Maximum: TensorPrimitives.Max(y, s, d); return;
                case BinaryOp.Minimum: TensorPrimitives.Min(y, s, d); return;
            }
        }
        for (int i = 0; i < d.Length; i++) d[i] = Scalar(op, x[i * sx], y[i * sy]);
    }

    static float Scalar(BinaryOp op, float x, float y) => op switch
    {
        BinaryOp.Add => x + y,
        BinaryOp.Sub => x - y,
        BinaryOp.Mul => x * y,
        BinaryOp.Div => x / y,
        BinaryOp.Pow => MathF.Pow(x, y),
        BinaryOp.Maximum => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : MathF.Max(x, y),
        BinaryOp.Minimum => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : MathF.Min(x, y),
        BinaryOp.Eq => x == y ? 1f : 0f,
        BinaryOp.Ne => x != y ? 1f : 0f,
        BinaryOp.Lt => x < y ? 1f : 0f,
        BinaryOp.Le => x <= y ? 1f : 0f,
        BinaryOp.Gt => x > y ? 1f : 0f,
        BinaryOp.Ge => x >= y ? 1f : 0f,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    // ---- the differentiable binary ops: forward and backward side by side -------------------

    /// <summary>Element-wise a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Add, "add");
        return Record(y, "add", [a, b], g => [g, g]);
    }

    /// <summary>Element-wise a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Sub, "sub");
        return Record(y, "sub", [a, b], g => [g, b.RequiresGrad ? Neg(g) : null]);
    }

    /// <summary>Element-wise a * b with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Mul, "mul");
        return Record(y, "mul", [a, b], g => [a.RequiresGrad ? Mul(g, b) : null, b.RequiresGrad ? Mul(g, a) : null]);
    }

    /// <summary>Element-wise a / b with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Div, "div");
        // d(a/b)/db = -a/b^2 = -(a/b)/b
        return Record(y, "div", [a, b], g => [a.RequiresGrad ? Div(g, b) : null, b.RequiresGrad ? Neg(Div(Mul(g, y), b)) : null]);
    }
}
