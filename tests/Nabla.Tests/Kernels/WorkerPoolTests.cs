using Nabla.Kernels;

namespace Nabla.Tests.KernelsTests;

[Collection("Globals")]
public class WorkerPoolTests
{
    sealed class CountingJob(int chunks) : IParallelJob
    {
        public readonly int[] Runs = new int[chunks];
        public int WrongTotal;

        public void RunChunk(int chunk, int total)
        {
            if (total != Runs.Length) Interlocked.Increment(ref WrongTotal);
            Interlocked.Increment(ref Runs[chunk]);
        }
    }

    sealed class RecordingJob(int chunks) : IParallelJob
    {
        public readonly int[] Thread = new int[chunks];

        public void RunChunk(int chunk, int chunks)
        {
            Thread[chunk] = Environment.CurrentManagedThreadId;
            System.Threading.Thread.SpinWait(20000); // long enough for a pool worker to claim chunks
        }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(17, 3)]
    [InlineData(WorkerPool.MaxClaims, 2)]
    [InlineData(WorkerPool.MaxClaims + 1, 2)]
    [InlineData(200_003, 3)]
    public void Every_chunk_runs_exactly_once_with_the_jobs_own_chunk_count(int chunks, int threads)
    {
        var job = new CountingJob(chunks);
        WorkerPool.Run(job, chunks, threads);
        Assert.All(job.Runs, n => Assert.Equal(1, n));
        Assert.Equal(0, job.WrongTotal);
    }

    [Fact]
    public void The_caller_runs_a_prefix_of_the_chunks_and_the_workers_the_rest()
    {
        int shared = 0;
        for (int repeat = 0; repeat < 20; repeat++)
        {
            var job = new RecordingJob(16);
            WorkerPool.Run(job, 16, 2);
            int me = Environment.CurrentManagedThreadId;
            int k = Array.FindIndex(job.Thread, id => id != me);
            if (k < 0) continue; // no worker took part this time
            shared++;
            Assert.True(k > 0, "the caller starts at chunk 0");
            Assert.All(job.Thread[k..], id => Assert.NotEqual(me, id));
        }
        Assert.True(shared > 0, "a worker took part in none of 20 jobs of 16 chunks");
    }
}
