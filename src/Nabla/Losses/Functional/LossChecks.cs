
using Nabla.Nn;

namespace Nabla.Losses;

public abstract partial class Loss
{
    /// <summary>
    /// How a class-indexed loss sees its input: <c>Count</c> = N * S samples, each with C scores that
    /// sit <c>S</c> apart. Input (N, C, d1, ...) with target (N, d1, ...), S = d1 * ...; input (N, C)
    /// with target (N); an unbatched input (C) with a 0-dimensional target.
    /// </summary>
    readonly record struct ClassLayout(int N, int C, int S)
    {
        public int Count => N * S;

        /// <summary>Flat input index of score c of sample k.</summary>
        public int At(int k, int c) => (k / S * C + c) * S + k % S;
    }

    /// <summary>
    /// Checks the shapes and the class indices of a classification loss: the target holds integers
    /// in [0, C) as floats. Errors name the first offending value and its position.
    /// </summary>
    static ClassLayout CheckClassTarget(string op, Tensor input, Tensor target, bool allowSpatial)
    {
        string shapes = allowSpatial ? "(N, C), (N, C, d1, ...) or (C)" : "(N, C) or (C)";
        if (input.Rank == 0 || (!allowSpatial && input.Rank > 2))
            throw new ShapeException(op, $"input of shape {shapes}", input.ShapeString);
        ClassLayout layout;
        int[] expected;
        if (input.Rank == 1)
        {
            layout = new(1, input.Dims[0], 1);
            expected = [];
        }
        else
        {
            int s = 1;
            for (int i = 2; i < input.Rank; i++) s *= input.Dims[i];
            layout = new(input.Dims[0], input.Dims[1], s);
            expected = [input.Dims[0], .. input.Dims[2..]];
        }
        if (!target.Shape.SequenceEqual(expected))
            throw new ShapeException(op, $"a target of class indices of shape {ShapeException.Str(expected)}",
                $"{target.ShapeString} for input {input.ShapeString}",
                target.SameShape(input) && input.Rank > 1
                    ? "class probabilities as targets are not supported; pass the class indices (an argmax over dim 1)"
                    : null);
        var ts = target.Storage;
        for (int i = 0; i < ts.Length; i++)
        {
            float v = ts[i];
            if (v != MathF.Floor(v) || !float.IsFinite(v))
                throw new ShapeException(op, "integer class indices", $"{v} at target{ShapeException.Str(Unravel(target.Dims, i))}");
            if (v < 0 || v >= layout.C)
                throw new ShapeException(op, $"class indices in [0, {layout.C})", $"{v} at target{ShapeException.Str(Unravel(target.Dims, i))}");
        }
        return layout;
    }

    /// <summary>Checks that a per-class weight is absent or has shape (C).</summary>
    static void CheckClassWeight(string op, Tensor? weight, int c)
    {
        if (weight is not null && (weight.Rank != 1 || weight.Dims[0] != c))
            throw new ShapeException(op, $"a class weight of shape [{c}]", weight.ShapeString);
    }

    /// <summary>Checks that a point-wise loss's target has the input's shape.</summary>
    static void CheckSameShape(string op, Tensor input, Tensor target)
    {
        if (!input.SameShape(target))
            throw new ShapeException(op, $"a target of the input's shape {input.ShapeString}", target.ShapeString);
    }

    /// <summary>The multi-index of flat position <paramref name="flat"/> in a row-major tensor of shape <paramref name="dims"/>.</summary>
    internal static int[] Unravel(int[] dims, int flat)
    {
        var idx = new int[dims.Length];
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            idx[i] = flat % dims[i];
            flat /= dims[i];
        }
        return idx;
    }

    /// <summary>The 0-dimensional output of a Mean or Sum loss: the float64 sum, divided by <paramref name="denominator"/> for the mean.</summary>
    internal static Tensor ScalarLoss(Reduction reduction, double sum, double denominator)
    {
        var y = new Tensor([], clear: false);
        y.Storage[0] = (float)(reduction == Reduction.Mean ? sum / denominator : sum);
        return y;
    }
}
