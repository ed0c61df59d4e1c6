namespace Nabla.Tests.AutogradTests;

/// <summary>The profiler is one switch read at start-up; the test process starts without it.</summary>
public class OpProfilerTests
{
    [Fact]
    public void Without_NABLA_PROFILE_the_profiler_is_off_and_says_how_to_turn_it_on()
    {
        Assert.False(OpProfiler.Available);
        Assert.False(OpProfiler.Enabled);
        var e = Assert.Throws<InvalidOperationException>(OpProfiler.Start);
        Assert.Equal("OpProfiler: start the process with NABLA_PROFILE=1 to profile (off, the profiler compiles to nothing)", e.Message);
        OpProfiler.Add("nothing", 0); // a no-op while off
        Assert.Empty(OpProfiler.Stop());
    }
}
