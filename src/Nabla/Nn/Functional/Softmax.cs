using System.Buffers;
using System.Numerics.Tensors;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// exp(x_i) / sum_j exp(x_j) along <paramref name="dim"/>, as <c>F.softmax</c>: each slice
    /// becomes a probability distribution. Any shape; negative dims count from the end.
    /// </summary>
    /// <remarks>
    /// Computed as exp(x - m) / sum exp(x - m) with m the slice's maximum, so logits in the
    /// thousands neither overflow nor underflow to 0/0. Backward, fused: dx = y (g - sum(g y)).
    /// A slice holding NaN, +inf, or only -inf gives NaN, as in PyTorch.
    /// </remarks>
    public static Tensor Softmax(Tensor x, int dim)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (outer, n, inner) = SplitAt(x, dim, "softmax");
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        SoftmaxForward(x.Storage, y.Storage, outer, n, inner, log: false);
        return Tensor.Record(y, "softmax", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            SoftmaxBackward(g.Storage, y.Storage, gx.Storage, outer, n, inner);
            return [gx];
        });
    }

    /// <summary>
    /// log(softmax(x)) along <paramref name="dim"/>, as <c>F.log_softmax</c>: x - m - log sum exp(x - m)
    /// with m the slice's maximum, never log(0) of an underflowed probability.
    /// </summary>
    /// <remarks>
    /// Backward, fused: dx = g - exp(y) sum(g). Prefer <c>Loss.CrossEntropy</c> (Nabla.Losses) over
    /// LogSoftmax + <c>Loss.NllLoss</c> for classification: it is one kernel.
    /// </remarks>
    public static Tensor LogSoftmax(Tensor x, int dim)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (outer, n, inner) = SplitAt(x, dim, "log_softmax");
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        SoftmaxForward(x.Storage, y.Storage, outer, n, inner, log: true);
        return Tensor.Record(y, "log_softmax", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            LogSoftmaxBackward(g.Storage, y.Storage, gx.Storage, outer, n, inner);
            return [gx];
        });
    }

    /// <summary>The shape seen as (outer, n, inner) around <paramref name="dim"/>: element (o, i, k) sits at (o n + i) inner + k.</summary>
    static (int Outer, int N, int Inner) SplitAt(Tensor x, int dim, string op)
    {
        int d = Tensor.NormalizeDim(dim, x.Rank, op, x.Dims);
        if (x.Rank == 0) return (1, 1, 1);
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= x.Dims[i];
        for (int i = d + 1; i < x.Rank; i++) inner *= x.Dims[i];
        return (outer, x.Dims[d], inner);
    }

    static void SoftmaxForward(float[] x, float[] y, int outer, int n, int inner, bool log)
    {
        if (x.Length == 0) return;
        if (inner == 1)
        {
            float[]? tmp = log ? ArrayPool<float>.Shared.Rent(n) : null;
            for (int o = 0; o < outer; o++)
            {
                var xr = x.AsSpan(o * n, n);
                var yr = y.AsSpan(o * n, n);
                float m = TensorPrimitives.Max(xr);
                TensorPrimitives.Subtract(xr, m, yr);
                if (log)
                {
                    var t = tmp.AsSpan(0, n);
                    TensorPrimitives.Exp(yr, t);
                    TensorPrimitives.Subtract(yr, MathF.Log(TensorPrimitives.Sum(t)), yr);
                }
                else
                {
                    TensorPrimitives.Exp(yr, yr);
                    TensorPrimitives.Divide(yr, TensorPrimitives.Sum(yr), yr);
                }
            }
            if (tmp is not null) ArrayPool<float>.Shared.Return(tmp);
            return;
        }
        // A slice is strided: keep a running max and sum per inner position and work on whole rows
        // of inner elements, which are contiguous.
        var buf = ArrayPool<float>.Shared.Rent(3 * inner);
        var m2 = buf.AsSpan(0, inner);
        var s = buf.AsSpan(inner, inner);
        var t2 = buf.AsSpan(2 * inner, inner);
        for (int o = 0; o < outer; o++)
        {
            int b = o * n * inner;
            x.AsSpan(b, inner).CopyTo(m2);
            for (int i = 1; i < n; i++) TensorPrimitives.Max(m2, x.AsSpan(b + i * inner, inner), m2);
            s.Clear();
            for (int i = 0; i < n; i++)
            {
                var yr = y.AsSpan(b + i * inner, inner);
                TensorPrimitives.Subtract(x.AsSpan(b + i * inner, inner), m2, yr);
                if (log)
                {
                    TensorPrimitives.Exp(yr, t2);
                    TensorPrimitives.Add(s, t2, s);
                }
                else
                {
                    TensorPrimitives.Exp(yr, yr);
                    TensorPrimitives.Add(s, yr, s);
                }
            }
            if (log) TensorPrimitives.Log(s, s);
            for (int i = 0; i < n; i++)
            {
                var yr = y.AsSpan(b + i * inner, inner);
                if (log) TensorPrimitives.Subtract(yr, s, yr);
                else TensorPrimitives.Divide(yr, s, yr);
            }
        }
        ArrayPool<float>.Shared.Return(buf);
    }

    static void SoftmaxBackward(float[] g, float[] y, float[] gx, int outer, int n, int inner)
    {
        if (y.Length == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var gr = g.AsSpan(o * n, n);
                var yr = y.AsSpan(o * n, n);
                var dr = gx.AsSpan(o * n, n);
                float dot = TensorPrimitives.Dot(gr, yr);
                TensorPrimitives.Subtract(gr, dot, dr);
                TensorPrimitives.Multiply(dr, yr, dr);
            }
            return;
        }
        var buf = ArrayPool<float>.Shared.Rent(inner);
        var dot2 = buf.AsSpan(0, inner);
        for (int o = 0; o < outer; o++)
        {
            int b = o * n * inner;
            dot2.Clear();
            for (int i = 0; i < n; i++)
                TensorPrimitives.MultiplyAdd(g.AsSpan(b + i * inner, inner), y.AsSpan(b + i * inner, inner), dot2, dot2);
            for (int i = 0; i < n; i++)
            {
                var dr = gx.AsSpan(b + i * inner, inner);
                TensorPrimitives.Subtract(g.AsSpan(b + i * inner, inner), dot2, dr);
                TensorPrimitives.Multiply(dr, y.AsSpan(b + i * inner, inner), dr);
            }
        }
        ArrayPool<float>.Shared.Return(buf);
    }

    static void LogSoftmaxBackward(float[] g, float[] y, float[] gx, int outer, int n, int inner)
    {
        if (y.Length == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var gr = g.AsSpan(o * n, n);
                var dr = gx.AsSpan(o * n, n);
                float sg = TensorPrimitives.Sum(gr);
                TensorPrimitives.Exp(y.AsSpan(o * n, n), dr);
                TensorPrimitives.MultiplyAdd(dr, -sg, gr, dr);
            }
            return;
        }
        var buf = ArrayPool<float>.Shared.Rent(inner);
        var sum = buf.AsSpan(0, inner);
        for (int o = 0; o < outer; o++)
        {
            int b = o * n * inner;
            sum.Clear();
            for (int i = 0; i < n; i++) TensorPrimitives.Add(sum, g.AsSpan(b + i * inner, inner), sum);
            TensorPrimitives.Negate(sum, sum);
            for (int i = 0; i < n; i++)
            {
                var dr = gx.AsSpan(b + i * inner, inner);
                TensorPrimitives.Exp(y.AsSpan(b + i * inner, inner), dr);
                TensorPrimitives.MultiplyAdd(dr, sum, g.AsSpan(b + i * inner, inner), dr);
            }
        }
        ArrayPool<float>.Shared.Return(buf);
    }
}
