namespace Nabla.Training;

/// <summary>
/// What one epoch of <see cref="Trainer.Fit"/> measured. Epochs count from 1. Validation values are
/// <see cref="double.NaN"/> when no validation loader was given; accuracies are NaN when the model's
/// output is not class scores of shape (N, C) with class-index targets of shape (N).
/// </summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="TrainLoss">The mean training loss per sample over the epoch (measured while the weights changed).</param>
/// <param name="TrainAccuracy">The fraction of training samples whose highest score was the target class.</param>
/// <param name="ValidationLoss">The mean validation loss per sample, measured after the epoch's training pass.</param>
/// <param name="ValidationAccuracy">The fraction of validation samples classified correctly.</param>
/// <param name="LearningRate">The first parameter group's learning rate at the end of the training pass, before the epoch schedulers stepped.</param>
/// <param name="Seconds">Wall-clock seconds the epoch took (training and validation).</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss,
                                 double ValidationAccuracy, double LearningRate, double Seconds)
{
    /// <summary>The names <see cref="Get"/> understands, in Keras' vocabulary.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["loss", "accuracy", "val_loss", "val_accuracy", "lr"];

    /// <summary>
    /// The value of a metric by name: <c>loss</c>, <c>accuracy</c> (training), <c>val_loss</c>,
    /// <c>val_accuracy</c> or <c>lr</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is none of <see cref="MetricNames"/>.</exception>
    public double Get(string metric) => metric switch
    {
        "loss" => TrainLoss,
        "accuracy" => TrainAccuracy,
        "val_loss" => ValidationLoss,
        "val_accuracy" => ValidationAccuracy,
        "lr" => LearningRate,
        _ => throw UnknownMetric(metric, nameof(metric)),
    };

    internal static ArgumentException UnknownMetric(string metric, string paramName) =>
        new($"Unknown metric '{metric}'; expected one of {string.Join(", ", MetricNames)}", paramName);
}
