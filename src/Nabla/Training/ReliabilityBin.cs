namespace Nabla.Training;

/// <summary>
/// One bin of a reliability diagram (<see cref="Calibration.ReliabilityDiagram"/>): the samples whose
/// confidence lies in (<see cref="Lower"/>, <see cref="Upper"/>], how confident the model was on
/// them on average, and how often it was right.
/// </summary>
/// <remarks>
/// A calibrated model has <see cref="Accuracy"/> ≈ <see cref="MeanConfidence"/> in every bin; plotted
/// against each other the bins lie on the diagonal. Bars below the diagonal mean overconfidence.
/// </remarks>
/// <param name="Lower">The bin's lower edge i / B (exclusive, except that confidence 0 belongs to bin 0).</param>
/// <param name="Upper">The bin's upper edge (i + 1) / B (inclusive).</param>
/// <param name="Count">The number of samples in the bin.</param>
/// <param name="MeanConfidence">The mean of the samples' confidences (max probability); NaN when the bin is empty.</param>
/// <param name="Accuracy">The fraction of the bin's samples predicted right; NaN when the bin is empty.</param>
public readonly record struct ReliabilityBin(double Lower, double Upper, long Count, double MeanConfidence, double Accuracy);
