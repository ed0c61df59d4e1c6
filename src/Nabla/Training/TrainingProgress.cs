namespace Nabla.Training;

/// <summary>
/// A progress report a user interface can show, raised by <see cref="Trainer.Progress"/> after
/// training batches.
/// </summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Epochs">The number of epochs requested.</param>
/// <param name="Batch">The batch just finished, from 1.</param>
/// <param name="Batches">The number of batches in the epoch.</param>
/// <param name="SamplesPerSecond">Training samples processed per second so far in this epoch.</param>
/// <param name="RunningLoss">The mean loss per sample over the epoch's batches so far.</param>
/// <param name="Seconds">Wall-clock seconds spent on the epoch so far.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double SamplesPerSecond, double RunningLoss, double Seconds)
{
    /// <summary>The estimated seconds left in the epoch's training pass, from the pace so far.</summary>
    public double SecondsLeft => Batch <= 0 ? double.NaN : Seconds / Batch * (Batches - Batch);
}
