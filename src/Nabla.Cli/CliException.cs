namespace Nabla.Cli;

/// <summary>
/// A mistake the user can fix (a bad flag, a missing file, a run folder that does not fit): the
/// command prints its message as one line and exits with <see cref="ExitCode"/>, without a stack trace.
/// </summary>
internal sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    /// <summary>2 for usage errors (flags, values), 1 for files and data.</summary>
    public int ExitCode { get; } = exitCode;

    public static CliException File(string message) => new(message, 1);
}
