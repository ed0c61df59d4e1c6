using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Hooks a <see cref="Trainer"/> calls around training: early stopping, logging, checkpointing.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>Called once when <see cref="Trainer.Fit"/> starts, with the model being trained.</summary>
    void OnTrainBegin(Module model) { }

    /// <summary>Called at the start of each epoch (from 1), in training mode, before its first batch: the place to set a <c>TransformedDataset</c>'s epoch.</summary>
    void OnEpochBegin(int epoch) { }

    /// <summary>
    /// Called before each training batch's forward pass, with the epoch (from 1), the batch's number in
    /// the epoch (from 1), the epoch's number of batches, and the trainer's optimizer steps so far.
    /// </summary>
    void OnBatchBegin(int epoch, int batch, int batches, int globalStep) { }

    /// <summary>Called after the batch's backward pass (and gradient clipping), before the optimizer's step: the gradients are in place.</summary>
    void OnBeforeOptimizerStep() { }

    /// <summary>Called after the batch's optimizer step.</summary>
    void OnBatchEnd() { }

    /// <summary>Called after each epoch (training, validation and epoch schedulers done).</summary>
    /// <returns>A reason to stop training now, or null to go on.</returns>
    string? OnEpochEnd(EpochRecord record);

    /// <summary>Called once when training ends, normally or stopped by a callback (not after an exception).</summary>
    void OnTrainEnd(History history) { }
}
