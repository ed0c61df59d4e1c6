namespace Nabla.Training;

/// <summary>
/// Training met a loss that is NaN or infinite; the weights were not updated with it. Its message
/// names the epoch and the step.
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception for <paramref name="value"/> at <paramref name="epoch"/> and <paramref name="step"/>.</summary>
    public NonFiniteLossException(double value, int epoch, int step, int globalStep)
        : base($"Loss is {(double.IsNaN(value) ? "NaN" : value > 0 ? "+Infinity" : "-Infinity")} at epoch {epoch}, step {step} " +
               $"(global step {globalStep}); training stopped before the optimizer step.\n" +
               "hint: lower the learning rate, clip gradients (Trainer.MaxGradNorm) or check the inputs and targets for NaN")
    {
        Value = value;
        Epoch = epoch;
        Step = step;
        GlobalStep = globalStep;
    }

    /// <summary>The loss value that was not finite.</summary>
    public double Value { get; }

    /// <summary>The epoch, from 1.</summary>
    public int Epoch { get; }

    /// <summary>The batch within the epoch, from 1.</summary>
    public int Step { get; }

    /// <summary>The step counted over the whole run, from 1.</summary>
    public int GlobalStep { get; }
}
