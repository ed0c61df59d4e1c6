// nabla-fuzz TARGET: one AFL++ fuzz target (SharpFuzz), reading each input from standard input.
// nabla-fuzz seeds DIR: writes every target's seed corpus under DIR/TARGET.
// nabla-fuzz replay TARGET FILE...: runs inputs once, outside AFL, printing any unexpected exception.
using Nabla.Fuzz;
using SharpFuzz;

if (args.Length == 2 && args[0] == "seeds")
{
    foreach (var (name, seeds) in FuzzTargets.Seeds())
    {
        string dir = Path.Combine(args[1], name);
        Directory.CreateDirectory(dir);
        for (int i = 0; i < seeds.Length; i++) File.WriteAllBytes(Path.Combine(dir, $"seed-{i}"), seeds[i]);
    }
    return 0;
}
if (args.Length >= 3 && args[0] == "replay" && FuzzTargets.All.TryGetValue(args[1], out var replayed))
{
    int failures = 0;
    foreach (var file in args[2..])
    {
        try { FuzzTargets.RunOne(replayed, File.ReadAllBytes(file)); }
        catch (Exception e) { failures++; Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}"); }
    }
    return failures == 0 ? 0 : 1;
}
if (args.Length != 1 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: nabla-fuzz TARGET | seeds DIR | replay TARGET FILE...; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    var input = new MemoryStream();
    stream.CopyTo(input);
    FuzzTargets.RunOne(target, input.ToArray());
});
return 0;
