namespace Nabla.Training;

/// <summary>
/// Where an epoch stood when <see cref="Trainer.Fit"/> was cancelled in the middle of it: enough to
/// finish that epoch exactly as if training had never stopped (see <see cref="Trainer.InterruptedEpoch"/>).
/// </summary>
/// <param name="Epoch">The epoch that was interrupted, from 1.</param>
/// <param name="EpochSeed">The seed that fixed the epoch's sample order (<see cref="Data.DataLoader.NextEpochSeed"/>).</param>
/// <param name="Batches">Training batches completed in the epoch.</param>
/// <param name="Samples">Training samples in those batches.</param>
/// <param name="LossSum">The sum of their per-sample losses.</param>
/// <param name="Correct">How many of them were classified correctly (−1 when the output is not class scores).</param>
/// <param name="Seconds">Wall-clock seconds spent on the epoch so far.</param>
public sealed record EpochProgress(int Epoch, ulong EpochSeed, int Batches, long Samples, double LossSum, long Correct, double Seconds);
