using System.Collections.Concurrent;
using Nabla.Kernels;

namespace Nabla.Tests.KernelsTests;

[Collection("Globals")]
public class SerialThreadTests
{
    sealed class RecordingJob : IParallelJob
    {
        public readonly ConcurrentBag<int> Threads = [];

        public void RunChunk(int chunk, int chunks)
        {
            Threads.Add(Environment.CurrentManagedThreadId);
            Thread.SpinWait(20000); // long enough for a pool worker to claim chunks if it may
        }
    }

    [Fact]
    public void A_thread_marked_serial_runs_every_chunk_itself()
    {
        int saved = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 2;
            Exception? failure = null;
            var t = new Thread(() =>
            {
                try
                {
                    Threading.SerialOnThisThread = true;
                    var job = new RecordingJob();
                    WorkerPool.Run(job, 16, 2);
                    Assert.Equal(16, job.Threads.Count);
                    Assert.All(job.Threads, id => Assert.Equal(Environment.CurrentManagedThreadId, id));
                }
                catch (Exception e) { failure = e; }
            });
            t.Start();
            t.Join();
            if (failure is not null) throw failure;
            Assert.False(Threading.SerialOnThisThread); // the flag belongs to the thread that set it
        }
        finally { Threading.NumThreads = saved; }
    }
}
