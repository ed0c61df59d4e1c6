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
    /// input. The mask is keyed by one 64-bit draw from <paramref name="generator"/>
    /// (<see cref="Generator.Default"/> when null), so a seed reproduces it: each element's keep
    /// decision is a hash of that key and the element's index, computed eight at a time and
    /// recomputed in the backward pass, which multiplies the gradient by the same mask and scale.
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
                $"dropout probability has to be between 0 and 1, but got {PyFormat.Float(p)}");
    }

    /// <summary>Dropout of runs of <paramref name="run"/> elements (1 for elements, H * W for channels).</summary>
    static Tensor DropoutCore(string op, Tensor input, double p, bool training, bool inverted, Generator? generator, int run)
    {
        if (!training)
            return inverted || p == 0 ? input : ScaleRecorded(op, input, (float)(1 - p));
        if (p == 0) return input;
        if (p == 1 || input.Numel == 0) return ScaleRecorded(op, input, 0f);

        // One draw from the generator keys the whole mask; each unit's keep decision is a hash of
        // the key and the unit's index, so the mask is computed in vector lanes, never stored, and
        // recomputed identically in backward.
        var mask = new DropoutMask((generator ?? Generator.Default).NextUInt64(), p);
        float scale = inverted ? (float)(1 / (1 - p)) : 1f;
        var y = new Tensor((int[])input.Dims.Clone(), clear: false);
        mask.Apply(input.Storage, scale, run, y.Storage);
        return Tensor.Record(y, op, [input], g =>
        {
            var gx = new Tensor((int[])g.Dims.Clone(), clear: false);
            mask.Apply(g.Storage, scale, run, gx.Storage);
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
}

/// <summary>
/// A dropout mask as a function: unit i is kept when hash(i, key) is at least p * 2^32, with a
/// 32-bit integer hash (two rounds of Wellons' lowbias32, the key mixed in between) that is
/// computed eight units at a time. Keeping the decision a pure function of (key, i) makes the
/// mask reproducible from one 64-bit draw, independent of how the work is split, and free to
/// recompute instead of store.
/// </summary>
internal readonly struct DropoutMask(ulong key, double p)
{
    readonly uint _k0 = (uint)key, _k1 = (uint)(key >> 32);
    readonly uint _threshold = (uint)Math.Min(uint.MaxValue, Math.Round(p * 4294967296.0));

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352d;
        x ^= x >> 15;
        x *= 0x846ca68b;
        return x ^ (x >> 16);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static Vector256<uint> Mix(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= Vector256.Create(0x7feb352du);
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= Vector256.Create(0x846ca68bu);
        return x ^ Vector256.ShiftRightLogical(x, 16);
    }

    /// <summary>Whether unit <paramref name="i"/> is kept.</summary>
    public bool Keep(int i) => Mix(Mix((uint)i + _k0) ^ _k1) >= _threshold;

    /// <summary>y = x * scale for kept units, x * 0 for dropped ones (NaN and infinity propagate as in PyTorch's mul); units are runs of <paramref name="run"/> elements.</summary>
    public void Apply(float[] x, float scale, int run, float[] y)
    {
        if (run > 1)
        {
            int units = x.Length / run;
            for (int u = 0; u < units; u++)
                TensorPrimitives.Multiply(x.AsSpan(u * run, run), Keep(u) ? scale : 0f, y.AsSpan(u * run, run));
            return;
        }
        int n = x.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var k0 = Vector256.Create(_k0);
            var k1 = Vector256.Create(_k1);
            // Unsigned comparison as signed after flipping the sign bits.
            var bias = Vector256.Create(0x80000000u);
            var thr = (Vector256.Create(_threshold) ^ bias).AsInt32();
            var vs = Vector256.Create(scale);
            var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            for (; i + 8 <= n; i += 8)
            {
                var h = Mix(Mix(Vector256.Create((uint)i) + lane + k0) ^ k1);
                var keep = ~Vector256.LessThan((h ^ bias).AsInt32(), thr).AsSingle();
                var xv = Vector256.LoadUnsafe(ref x[i]);
                Vector256.ConditionalSelect(keep, xv * vs, xv * Vector256<float>.Zero).StoreUnsafe(ref y[i]);
            }
        }
        for (; i < n; i++) y[i] = x[i] * (Keep(i) ? scale : 0f);
    }
}
