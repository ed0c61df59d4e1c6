namespace Nabla.Losses;

/// <summary>
/// The base of the loss objects, as PyTorch's <c>_Loss</c> modules: a loss holds its settings
/// (reduction, margins, weights) and maps (input, target) to a tensor, a scalar unless
/// <see cref="Reduction"/> is <see cref="Reduction.None"/>. Each loss also has a stateless form here,
/// as a static function (<see cref="CrossEntropy"/>, <see cref="MseLoss"/>, ...): all loss maths and
/// reductions live in Nabla.Losses, and nothing in Nabla.Nn depends on them.
/// </summary>
public abstract partial class Loss
{
    /// <summary>Stores and checks the reduction.</summary>
    protected Loss(Reduction reduction)
    {
        CheckReduction(reduction, GetType().Name);
        Reduction = reduction;
    }

    /// <summary>How values are combined: <see cref="Reduction.Mean"/> (the default), Sum or None.</summary>
    public Reduction Reduction { get; }

    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/>.</summary>
    /// <exception cref="ShapeException">
    /// Mismatched shapes or invalid targets, worded as a layer's error and naming the loss:
    /// <c>CrossEntropyLoss() expects a target of class indices of shape [4]; got [3] for input [4, 5]</c>.
    /// </exception>
    public Tensor Forward(Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            return ForwardCore(input, target);
        }
        catch (ShapeException e)
        {
            // The functional form checks once for both callers; here the error names the loss object the user built.
            throw ShapeException.ForLayer(ToString(), e.Expected, e.Actual, e.Hint);
        }
    }

    /// <summary>The computation; called by <see cref="Forward"/> with non-null arguments.</summary>
    protected abstract Tensor ForwardCore(Tensor input, Tensor target);

    /// <summary>The name as PyTorch prints a loss module, e.g. <c>CrossEntropyLoss()</c>.</summary>
    public override string ToString() => $"{GetType().Name}()";

    /// <summary>A hinge margin must be a finite number: NaN or infinity makes every loss value NaN or infinite.</summary>
    internal static double CheckMargin(double margin, string op)
    {
        if (!double.IsFinite(margin))
            throw new ArgumentOutOfRangeException(nameof(margin), margin, $"{op}: expected a finite margin; got {margin}");
        return margin;
    }

    internal static void CheckReduction(Reduction reduction, string op)
    {
        if (reduction is not (Reduction.Mean or Reduction.Sum or Reduction.None))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction,
                $"{op}: expected reduction Mean, Sum or None; got {(int)reduction}");
    }
}
