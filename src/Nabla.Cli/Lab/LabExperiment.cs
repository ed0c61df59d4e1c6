namespace Nabla.Cli.Lab;

/// <summary>
/// One experiment of <c>nabla lab</c>: a claim of the lecture, the setup that tests it, and the
/// measured verdict. <see cref="Run"/> trains and measures through the <see cref="LabContext"/>
/// and writes its figures, numbers and verdicts through the <see cref="LabReport"/>.
/// </summary>
internal abstract class LabExperiment
{
    /// <summary>The name of <c>nabla lab NAME</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The claim under test, one line.</summary>
    public abstract string Claim { get; }

    /// <summary>Runs the experiment.</summary>
    public abstract void Run(LabContext lab, LabReport report);

    /// <summary>Every experiment, in the lecture's order.</summary>
    public static IReadOnlyList<LabExperiment> All { get; } =
    [
        new LossesExperiment(), new ActivationsExperiment(), new InitExperiment(), new PreprocessingExperiment(),
        new AugmentationExperiment(), new WeightDecayExperiment(), new EarlyStoppingExperiment(), new EnsemblesExperiment(),
        new DropoutExperiment(), new McDropoutExperiment(), new BatchNormExperiment(), new DepthExperiment(),
    ];
}
