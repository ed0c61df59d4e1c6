using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nabla.Kernels;

/// <summary>Element-wise kernels of activations, fused and parallel for large tensors: one pass, no temporaries.</summary>
internal static unsafe class Activation
{
    /// <summary>y = max(x, 0), in parallel for large tensors.</summary>
    public static void Relu(float[] x, float[] y)
    {
        fixed (float* px = x, py = y) ParallelRange.Run(x.Length, new ReluBody { X = px, Y = py });
    }

    struct ReluBody : IRangeBody
    {
        public float* X, Y;

        public readonly void Run(int start, int length) =>
            System.Numerics.Tensors.TensorPrimitives.Max(new ReadOnlySpan<float>(X + start, length), 0f, new Span<float>(Y + start, length));
    }

    /// <summary>
    /// y = max(a + b, 0), a residual block's sum and ReLU, in parallel for large tensors; each chunk's sum is
    /// still in cache when the ReLU reads it back. <paramref name="y"/> may be <paramref name="a"/> itself.
    /// </summary>
    public static void AddRelu(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        if (a.Length != y.Length || b.Length != y.Length)
            throw new ArgumentException($"AddRelu: expected three spans of one length; got {a.Length}, {b.Length} and {y.Length}");
        fixed (float* pa = a, pb = b, py = y) ParallelRange.Run(y.Length, new AddReluBody { A = pa, B = pb, Y = py });
    }

    struct AddReluBody : IRangeBody
    {
        public float* A, B, Y;

        public readonly void Run(int start, int length)
        {
            var y = new Span<float>(Y + start, length);
            System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(A + start, length), new ReadOnlySpan<float>(B + start, length), y);
            System.Numerics.Tensors.TensorPrimitives.Max(y, 0f, y);
        }
    }

    /// <summary>The ReLU gradient from the saved output, in parallel for large tensors.</summary>
    public static void ReluBackward(float[] y, float[] dy, float[] dx)
    {
        fixed (float* py = y, pg = dy, pd = dx) ParallelRange.Run(y.Length, new ReluBackwardBody { Y = py, G = pg, D = pd });
    }

    struct ReluBackwardBody : IRangeBody
    {
        public float* Y, G, D;

        public readonly void Run(int start, int length) =>
            ReluBackward(new ReadOnlySpan<float>(Y + start, length), new ReadOnlySpan<float>(G + start, length), new Span<float>(D + start, length));
    }

    /// <summary>dx = dy where x &gt; 0, else 0 (PyTorch's threshold backward: 0 at exactly 0, NaN input gives 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dy);
            ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dx);
            for (; i <= n - 16; i += 16)
            {
                var xv = Vector512.LoadUnsafe(ref px, (nuint)i);
                var gv = Vector512.LoadUnsafe(ref pg, (nuint)i);
                Vector512.ConditionalSelect(Vector512.GreaterThan(xv, Vector512<float>.Zero), gv, Vector512<float>.Zero)
                    .StoreUnsafe(ref pd, (nuint)i);
            }
        }
        for (; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0f;
    }
}
