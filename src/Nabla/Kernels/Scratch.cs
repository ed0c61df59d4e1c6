using System.Runtime.InteropServices;

namespace Nabla.Kernels;

/// <summary>
/// Per-thread native scratch memory that grows to the largest request and is kept, so kernels
/// (im2col columns, partial sums) allocate nothing in steady state and add nothing to the GC heap.
/// </summary>
internal sealed unsafe class Scratch
{
    [ThreadStatic] static Scratch? t_scratch, t_second;

    float* _p;
    nuint _cap;

    /// <summary>This thread's scratch buffer of at least <paramref name="floats"/> floats, 64-byte aligned; contents undefined.</summary>
    public static float* Get(long floats) => Grow(t_scratch ??= new Scratch(), floats);

    /// <summary>
    /// A second per-thread buffer, for a kernel that hands its own work to the worker pool: the chunks it
    /// runs on this thread use <see cref="Get"/>, which must not move the memory the kernel holds.
    /// </summary>
    public static float* GetSecond(long floats) => Grow(t_second ??= new Scratch(), floats);

    static float* Grow(Scratch s, long floats)
    {
        if ((nuint)floats > s._cap)
        {
            if (s._p != null) NativeMemory.AlignedFree(s._p);
            s._p = (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
            s._cap = (nuint)floats;
        }
        return s._p;
    }

    ~Scratch()
    {
        if (_p != null) NativeMemory.AlignedFree(_p);
    }
}
