using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// Dropout, as <c>F.dropout</c>: in training each element is zeroed with probability
    /// <paramref name="p"/>. Inverted dropout (the default, PyTorch's) scales the kept elements by
    /// 1 / (1 - p) and is the identity in evaluation; classic dropout (<paramref name="inverted"/>
    /// false) keeps them unscaled and multiplies every activation by 1 - p in evaluation.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Why scale: a unit kept with probability 1 - p passes on (1 - p) x on average, so the next layer
    /// sees activations of a different size at training and at test time unless one side compensates.
    /// The original paper scales at test time (the weight-scaling inference rule: multiply by the keep
    /// probability); inverted dropout divides by 1 - p at training time instead, so the trained network
    /// is used as is. Both give E[y] = the evaluation output. Dropping units at random keeps them from
    /// co-adapting and trains an implicit ensemble of thinned networks that evaluation averages.
    /// </para>
    /// <para>
    /// p = 1 in training gives zeros (and zero gradients), without dividing by zero; p = 0 returns the
    /// input. The mask is drawn from <paramref name="generator"/> (<see cref="Generator.Default"/> when
    /// null), two elements per 64-bit draw, so a seed reproduces it; it is stored as one bit per
    /// element and the backward pass multiplies the gradient by the same mask and scale.
    /// </para>
    /// </remarks>
    /// <param name="input">The input, any shape.</param>
    /// <param name="p">The probability of zeroing an element, in [0, 1].</param>
    /// <param name="training">Drop (training) or not (evaluation).</param>
    /// <param name="inverted">Scale by 1 / (1 - p) in training (true) or by 1 - p in evaluation (false).</param>
    /// <param name="generator">The random generator; null for <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, bool inverted = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckDropoutProbability(p);
        return DropoutCore("dropout", input, p, training, inverted, generator, 1);
    }

    /// <summary>
    /// Channel dropout, as <c>F.dropout2d</c>: in training each channel of (N, C, H, W) (or of
    /// (C, H, W)) is zeroed as a whole with probability <paramref name="p"/>; the scaling rules are
    /// those of <see cref="Dropout(Tensor, double, bool, bool, Generator?)"/>.
    /// </summary>
    /// <remarks>
    /// Neighbouring pixels of a feature map are strongly correlated, so zeroing single pixels hardly
    /// removes information: the next convolution recovers it from the neighbours. Dropping whole
    /// feature maps is the regularization that works for convolutional layers.
    /// </remarks>
    /// <param name="input">The input (N, C, H, W) or (C, H, W).</param>
    /// <param name="p">The probability of zeroing a channel, in [0, 1].</param>
    /// <param name="training">Drop (training) or not (evaluation).</param>
    /// <param name="inverted">Scale by 1 / (1 - p) in training (true) or by 1 - p in evaluation (false).</param>
    /// <param name="generator">The random generator; null for <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    /// <exception cref="ShapeException">The input is neither 3- nor 4-dimensional.</exception>
    public static Tensor Dropout2d(Tensor input, double p = 0.5, bool training = true, bool inverted = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckDropoutProbability(p);
        if (input.Rank is not (3 or 4))
            throw new ShapeException("dropout2d", "input of shape (N, C, H, W) or (C, H, W)", input.ShapeString);
        int plane = TrailingSize(input, input.Rank - 2);
        return DropoutCore("dropout2d", input, p, training, inverted, generator, plane);
    }

    /// <summary>PyTorch's check and message for a dropout probability.</summary>
    internal static void CheckDropoutProbability(double p)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p,
                $"dropout probability has to be between 0 and 1, but got {NormRepr.Float(p)}");
    }

    /// <summary>Dropout of runs of <paramref name="run"/> elements (1 for elements, H * W for channels).</summary>
    static Tensor DropoutCore(string op, Tensor input, double p, bool training, bool inverted, Generator? generator, int run)
    {
        if (!training)
            return inverted || p == 0 ? input : ScaleRecorded(op, input, (float)(1 - p));
        if (p == 0) return input;
        if (p == 1 || input.Numel == 0) return ScaleRecorded(op, input, 0f);

        int units = input.Numel / run;
        // The mask lives in a float tensor's storage (viewed as 64-bit words), so inside a
        // TensorScope it is pooled like any activation instead of allocated every step.
        var maskStore = new Tensor([2 * ((units + 63) / 64)], clear: false);
        var mask = System.Runtime.InteropServices.MemoryMarshal.Cast<float, ulong>(maskStore.Storage.AsSpan());
        DrawMask(mask, units, p, generator ?? Generator.Default);
        float scale = inverted ? (float)(1 / (1 - p)) : 1f;
        var y = new Tensor((int[])input.Dims.Clone(), clear: false);
        ApplyMask(input.Storage, mask, scale, run, y.Storage);
        return Tensor.Record(y, op, [input], g =>
        {
            var gx = new Tensor((int[])g.Dims.Clone(), clear: false);
            ApplyMask(g.Storage, System.Runtime.InteropServices.MemoryMarshal.Cast<float, ulong>(maskStore.Storage.AsSpan()), scale, run, gx.Storage);
            return [gx];
        });
    }

    /// <summary>y = x * factor, with the gradient g * factor (NaN and infinity propagate, as in PyTorch's mul).</summary>
    static Tensor ScaleRecorded(string op, Tensor input, float factor)
    {
        var y = new Tensor((int[])input.Dims.Clone(), clear: false);
        TensorPrimitives.Multiply(input.Storage, factor, y.Storage);
        return Tensor.Record(y, op, [input], g =>
        {
            var gx = new Tensor((int[])g.Dims.Clone(), clear: false);
            TensorPrimitives.Multiply(g.Storage, factor, gx.Storage);
            return [gx];
        });
    }

    /// <summary>
    /// One bit per unit, set when the unit is kept. Each 32-bit half of a draw decides one unit: it is
    /// dropped when below p * 2^32, so the drop probability is p to within 2^-32. Branch-free: with
    /// p = 0.5 every comparison is a coin flip that a branch predictor would get wrong half the time.
    /// </summary>
    static void DrawMask(Span<ulong> mask, int units, double p, Generator gen)
    {
        long thresholdMinus1 = (long)Math.Round(p * 4294967296.0) - 1;
        int words = (units + 63) / 64;
        for (int w = 0; w < words; w++)
        {
            int count = Math.Min(64, units - w * 64);
            ulong bits = 0;
            for (int j = 0; j < count; j += 2)
            {
                ulong r = gen.NextUInt64();
                // (threshold - 1 - half) is negative exactly when half >= threshold: its sign bit is the keep bit.
                bits |= ((ulong)(thresholdMinus1 - (long)(r & 0xFFFFFFFFUL)) >> 63) << j;
                bits |= ((ulong)(thresholdMinus1 - (long)(r >> 32)) >> 63) << (j + 1);
            }
            mask[w] = count == 64 ? bits : bits & ((1UL << count) - 1);
        }
    }

    /// <summary>y = x * scale where the unit's bit is set, x * 0 elsewhere; a unit is a run of <paramref name="run"/> elements.</summary>
    static void ApplyMask(float[] x, ReadOnlySpan<ulong> mask, float scale, int run, float[] y)
    {
        if (run == 1)
        {
            int n = x.Length, i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var laneBit = Vector512.Create(1u, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
                var vs = Vector512.Create(scale);
                for (; i + 16 <= n; i += 16)
                {
                    uint bits16 = (uint)(mask[i >> 6] >> (i & 63)) & 0xFFFF;
                    var keep = Vector512.Equals(Vector512.Create(bits16) & laneBit, laneBit).AsSingle();
                    var xv = Vector512.LoadUnsafe(ref x[i]);
                    // x * 0 rather than a plain 0 where dropped, so NaN and infinity propagate as in PyTorch's mul.
                    Vector512.ConditionalSelect(keep, xv * vs, xv * Vector512<float>.Zero)
                        .StoreUnsafe(ref y[i]);
                }
            }
            for (; i < n; i++) y[i] = x[i] * (scale * (float)((mask[i >> 6] >> (i & 63)) & 1));
            return;
        }
        int units = x.Length / run;
        for (int u = 0; u < units; u++)
        {
            float f = ((mask[u >> 6] >> (u & 63)) & 1) != 0 ? scale : 0f;
            TensorPrimitives.Multiply(x.AsSpan(u * run, run), f, y.AsSpan(u * run, run));
        }
    }
}
