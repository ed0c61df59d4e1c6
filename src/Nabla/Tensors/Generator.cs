namespace Nabla;

/// <summary>
/// A seeded pseudo-random generator (xoshiro256**) whose whole state can be saved and restored,
/// which <see cref="System.Random"/> does not allow. Every random stream in Nabla (initialization,
/// shuffling, augmentation, dropout) draws from one of these, so a seed reproduces a run bit for bit.
/// </summary>
/// <remarks>
/// Seeding expands the 64-bit seed with SplitMix64, as the xoshiro authors recommend.
/// Normal variates use the Box–Muller transform on two uniforms in (0, 1], computed in double.
/// </remarks>
public sealed class Generator
{
    ulong _s0, _s1, _s2, _s3;

    /// <summary>The generator used when an operation is not given one. Seed it with <see cref="ManualSeed"/>.</summary>
    public static Generator Default { get; } = new(0);

    /// <summary>Seeds the default generator, like <c>torch.manual_seed</c>.</summary>
    public static void ManualSeed(ulong seed) => Default.Seed(seed);

    /// <summary>Creates a generator from a seed.</summary>
    public Generator(ulong seed) => Seed(seed);

    /// <summary>Resets the generator to the state the seed defines.</summary>
    public void Seed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        _hasSpare = false; // a cached Box–Muller value belongs to the old stream
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A uniform integer in [low, high), without modulo bias (Lemire's method).</summary>
    public long NextInt64(long low, long high)
    {
        if (high <= low) throw new ArgumentException($"Generator.NextInt64: expected low < high; got low = {low}, high = {high}");
        ulong range = (ulong)(high - low);
        while (true)
        {
            ulong x = NextUInt64();
            UInt128 m = (UInt128)x * range;
            ulong lo = (ulong)m;
            if (lo >= range || lo >= (0UL - range) % range)
                return low + (long)(ulong)(m >> 64);
        }
    }

    /// <summary>A standard normal variate (Box–Muller).</summary>
    public double NextNormal()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    bool _hasSpare;
    double _spare;

    /// <summary>The whole state, to save with a checkpoint; <see cref="SetState"/> restores it.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _hasSpare ? 1UL : 0UL, BitConverter.DoubleToUInt64Bits(_spare)];

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6)
            throw new ArgumentException($"Generator.SetState: expected a state of 6 words; got {state.Length}", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("Generator.SetState: expected a non-zero xoshiro state; got all zeros", nameof(state));
        _s0 = state[0]; _s1 = state[1]; _s2 = state[2]; _s3 = state[3];
        _hasSpare = state[4] != 0;
        _spare = BitConverter.UInt64BitsToDouble(state[5]);
    }
}
