using Nabla.Fuzz;

namespace Nabla.Cli.Tests;

/// <summary>
/// The fuzz targets of fuzz/ (IDX raw and gzip, safetensors, images, the run-config JSON, CSV, ONNX)
/// as a seeded mutation test that runs in seconds: every seed reads cleanly, and a few hundred
/// mutants of them (bit flips, extreme bytes, cuts, repeats) give only the reader's own error. The
/// AFL++ harness runs the same targets for hours (fuzz/README.md); what it finds lands in
/// tests/Nabla.Cli.Tests/fuzz-regressions/TARGET/ and is replayed here.
/// </summary>
public sealed class FuzzTargetTests
{
    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Seeds_read_cleanly(string target)
    {
        foreach (var seed in FuzzTargets.Seeds()[target]) FuzzTargets.All[target](seed);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Mutants_give_only_the_readers_own_errors(string target)
    {
        var random = new Random(15);
        var seeds = FuzzTargets.Seeds()[target];
        var failures = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            var input = Mutate(seeds[i % seeds.Length], random);
            try
            {
                FuzzTargets.RunOne(FuzzTargets.All[target], input);
            }
            catch (Exception e)
            {
                failures.Add($"mutant {i} ({Convert.ToBase64String(input)}): {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(3)));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void What_fuzzing_found_stays_fixed(string target)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fuzz-regressions", target);
        if (!Directory.Exists(dir)) return; // nothing found for this target
        foreach (var file in Directory.GetFiles(dir))
            FuzzTargets.RunOne(FuzzTargets.All[target], File.ReadAllBytes(file));
    }

    static byte[] Mutate(byte[] seed, Random random)
    {
        var b = new List<byte>(seed);
        int edits = 1 + random.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = random.Next(b.Count);
            switch (random.Next(6))
            {
                case 0: b[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: b[at] = new byte[] { 0, 0xFF, 0x7F, 0x80, 1 }[random.Next(5)]; break;
                case 2: b.RemoveRange(at, b.Count - at); break;
                case 3: b.InsertRange(at, b.GetRange(at, Math.Min(16, b.Count - at))); break;
                case 4: b.RemoveRange(at, Math.Min(1 + random.Next(8), b.Count - at)); break;
                default: b.Insert(at, (byte)random.Next(256)); break;
            }
        }
        return [.. b];
    }
}
