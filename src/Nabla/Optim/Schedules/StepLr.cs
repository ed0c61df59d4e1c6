namespace Nabla.Optim;

/// <summary>
/// Multiplies each group's learning rate by <c>gamma</c> every <c>stepSize</c> epochs, as
/// <c>torch.optim.lr_scheduler.StepLR</c>.
/// </summary>
/// <remarks>
/// <code>
/// lr(epoch) = initial_lr · gamma^⌊epoch / stepSize⌋
/// </code>
/// computed step by step (chainable form): at an epoch that is a positive multiple of stepSize the
/// current rate is multiplied by gamma, otherwise left alone. With lr 0.05, stepSize 30, gamma 0.1:
/// 0.05 for epochs 0-29, 0.005 for 30-59, 0.0005 for 60-89. Default gamma 0.1.
/// </remarks>
public sealed class StepLr : LrScheduler
{
    /// <summary>Decays by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="stepSize">The period of the decay, in epochs; at least 1.</param>
    /// <param name="gamma">The factor of each decay.</param>
    public StepLr(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize < 1)
            throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLr: expected stepSize >= 1; got {stepSize}");
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The period of the decay, in epochs.</summary>
    public int StepSize { get; }

    /// <summary>The factor of each decay.</summary>
    public double Gamma { get; }

    private protected override double GetLr(int g, ParamGroup group) =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? group.Lr : group.Lr * Gamma;

    private protected override bool HasClosedForm => true;

    private protected override double ClosedFormLr(int g) => BaseLrs[g] * Math.Pow(Gamma, LastEpoch / StepSize);
}
