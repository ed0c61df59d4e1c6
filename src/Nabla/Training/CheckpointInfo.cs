using System.Text;

namespace Nabla.Training;

/// <summary>Where a checkpoint was taken: the epochs and optimizer steps completed, and the metadata saved with it.</summary>
/// <param name="Epoch">Epochs completed when the checkpoint was saved.</param>
/// <param name="Step">Optimizer steps completed when the checkpoint was saved.</param>
/// <remarks>Two infos are equal when their epochs, steps and metadata (as key-value sets) are.</remarks>
public readonly record struct CheckpointInfo(int Epoch, int Step)
{
    static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();
    readonly IReadOnlyDictionary<string, string>? _metadata;

    /// <summary>The user metadata passed to <c>Checkpoint.Save</c> (empty when none was).</summary>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get => _metadata ?? None;
        init => _metadata = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Whether the epochs, steps and metadata agree.</summary>
    public bool Equals(CheckpointInfo other)
    {
        if (Epoch != other.Epoch || Step != other.Step || Metadata.Count != other.Metadata.Count) return false;
        foreach (var (key, value) in Metadata)
            if (!other.Metadata.TryGetValue(key, out var v) || v != value) return false;
        return true;
    }

    /// <summary>A hash consistent with <see cref="Equals(CheckpointInfo)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Epoch, Step, Metadata.Count);

    bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Epoch = ").Append(Epoch).Append(", Step = ").Append(Step).Append(", Metadata = {");
        bool first = true;
        foreach (var (key, value) in Metadata)
        {
            builder.Append(first ? " " : ", ").Append(key).Append(" = ").Append(value);
            first = false;
        }
        builder.Append(first ? "}" : " }");
        return true;
    }
}
