using System.Diagnostics;
using System.Text.Json;
using Nabla;
using Nabla.Data;
using Nabla.Vision;
using Nabla.Vision.Transforms;

/// <summary>
/// The input pipeline of an augmented Fashion-MNIST training run: the 60,000 training images through
/// <see cref="TransformedDataset"/> with RandomCrop(28, padding 4), HorizontalFlip and RandAugment,
/// batched by a shuffling <see cref="DataLoader"/> of batch 128, for 2, 1 and 0 workers.
/// samples_per_s counts the samples the consumer receives (it does nothing with them), so it is the
/// ceiling the loader puts on a training step; each count gets a warm-up first (the JIT, the
/// workers' start and their prefetch queue). A pass that runs out starts the next epoch.
/// </summary>
static class LoaderWorkload
{
    public static void Run(double seconds)
    {
        // The full set where it is installed, else the subset kept in data/ (so the bench runs anywhere).
        var (train, _) = FashionMnist.LoadDefault(train: true);
        bool full = train.Count == 60000;
        var dataset = new TransformedDataset(train,
            new Compose(new RandomCrop(28, padding: 4), new HorizontalFlip(), new RandAugment()), seed: 0);
        const int batchSize = 128;
        foreach (int workers in new[] { 2, 1, 0 })
        {
            var loader = new DataLoader(dataset, batchSize, shuffle: true, workers: workers, generator: new Generator(0));
            var batches = loader.GetEnumerator();
            try
            {
                long Pull()
                {
                    if (!batches.MoveNext())
                    {
                        batches.Dispose();
                        dataset.Epoch++;
                        batches = loader.GetEnumerator();
                        batches.MoveNext();
                    }
                    return batches.Current.Inputs.Dims[0];
                }

                var warm = Stopwatch.StartNew();
                while (warm.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 3)) Pull();
                long samples = 0;
                var sw = Stopwatch.StartNew();
                while (sw.Elapsed.TotalSeconds < seconds) samples += Pull();
                double elapsed = sw.Elapsed.TotalSeconds;
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    engine = "nabla", workload = "loader", dataset = full ? "fashion_mnist_train" : "fashion_mnist_subset_train", batch = batchSize, workers,
                    transforms = "RandomCrop(28,4), HorizontalFlip, RandAugment(2,9)", samples,
                    samples_per_s = Math.Round(samples / elapsed, 0),
                }));
            }
            finally
            {
                batches.Dispose();
            }
        }
    }
}
