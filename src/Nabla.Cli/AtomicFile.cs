namespace Nabla.Cli;

/// <summary>
/// Writes a file so that readers and crashes only ever see the old file or the complete new one:
/// the content goes to a temporary file of its own beside it, is flushed to the disk, then renamed
/// over the target (as <c>SafeTensors.Save</c> does for weights).
/// </summary>
internal static class AtomicFile
{
    /// <param name="path">The file to replace.</param>
    /// <param name="write">Writes the content to the temporary path it is given.</param>
    /// <param name="extension">An extension the temporary name must end with (some writers choose the format by it).</param>
    public static void Write(string path, Action<string> write, string extension = ".tmp")
    {
        var tmp = $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}{extension}";
        try
        {
            write(tmp);
            using (var stream = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite)) stream.Flush(flushToDisk: true);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { } // the original error matters more
            throw Named(e, tmp, path);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The same error naming the file the user asked for, not our temporary one.</summary>
    internal static Exception Named(Exception e, string tmp, string path)
    {
        string message = e.Message.Replace(tmp, path, StringComparison.Ordinal);
        return e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
    }
}
