namespace Nabla.Losses;

/// <summary>
/// The base of the loss objects, as PyTorch's <c>_Loss</c> modules: a loss holds its settings
/// (reduction, margins, weights) and maps (input, target) to a tensor, a scalar unless
/// <see cref="Reduction"/> is <see cref="Reduction.None"/>. Each loss has a stateless form in
/// <see cref="Nabla.Nn.Functional"/>.
/// </summary>
public abstract class Loss
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
    public Tensor Forward(Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        return ForwardCore(input, target);
    }

    /// <summary>The computation; called by <see cref="Forward"/> with non-null arguments.</summary>
    protected abstract Tensor ForwardCore(Tensor input, Tensor target);

    /// <summary>The name as PyTorch prints a loss module, e.g. <c>CrossEntropyLoss()</c>.</summary>
    public override string ToString() => $"{GetType().Name}()";

    internal static void CheckReduction(Reduction reduction, string op)
    {
        if (reduction is not (Reduction.Mean or Reduction.Sum or Reduction.None))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction,
                $"{op}: expected reduction Mean, Sum or None; got {(int)reduction}");
    }
}
