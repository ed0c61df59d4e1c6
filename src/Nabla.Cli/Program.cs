using Nabla.Cli;
using Spectre.Console;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // While training, the first Ctrl+C asks it to stop after its batch and save a checkpoint; a
    // second one kills. Other commands stop at once.
    if (cancel.IsCancellationRequested || !Cli.StopsCleanly) return;
    e.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("nabla: stopping after this batch (Ctrl+C again to kill without saving)");
};
// A service manager's stop (SIGTERM) is treated like Ctrl+C: the run saves its checkpoint.
using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
{
    if (cancel.IsCancellationRequested || !Cli.StopsCleanly) return;
    ctx.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("nabla: stopping after this batch (terminated)");
});
// Redirected output (a log file, CI) has no width; 80 columns would wrap the tables.
if (Console.IsOutputRedirected) AnsiConsole.Console.Profile.Width = 160;
return Cli.Run(args, AnsiConsole.Console, Console.Error, cancel.Token);
