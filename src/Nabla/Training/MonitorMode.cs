namespace Nabla.Training;

/// <summary>Which direction of a monitored metric is an improvement.</summary>
public enum MonitorMode
{
    /// <summary>Max for names containing "accuracy", Min otherwise (Keras' "auto").</summary>
    Auto,

    /// <summary>Lower is better (losses).</summary>
    Min,

    /// <summary>Higher is better (accuracies).</summary>
    Max,
}
