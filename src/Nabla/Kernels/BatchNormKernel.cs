using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// The batch-norm kernels on an (N, C, S) layout, with every argument explicit. Channels whose
/// runs are long (S at least <see cref="MinRun"/>) are processed one at a time, run by run, with the
/// channel's data still in cache between passes, in parallel over channels for large inputs; short
/// runs (batch norm on (N, C)) are processed row by row, vectorized across the channels.
/// </summary>
/// <remarks>
/// A call's shape, affine and saved statistics are a <see cref="Plan"/>; forward fills its
/// <see cref="Plan.Mean"/> and <see cref="Plan.InvStd"/> (or the caller does, from the running
/// statistics, in evaluation), backward reads them. Each pass is an immutable job over the plan.
/// </remarks>
internal static class BatchNormKernel
{
    /// <summary>Shortest H*W (or L) run worth processing channel by channel.</summary>
    public const int MinRun = 16;

    /// <summary>Fewest elements worth sharing among threads.</summary>
    const int ParallelElements = 1 << 15;

    /// <summary>ReLU and 2x2 max pooling fused after batch norm: the plane's size and each pooled output's argmax.</summary>
    internal sealed record Pooling(int H, int W, float[] Argmax)
    {
        public int PooledSize => (H / 2) * (W / 2);
    }

    /// <summary>One batch-norm call: input x (N, C, S), gamma and beta (C) or null, the mode, the fusions, and the per-channel statistics.</summary>
    internal sealed class Plan(float[] x, int n, int c, int s, float[]? gamma, float[]? beta, bool training, bool relu, Pooling? pooling)
    {
        public float[] X { get; } = x;
        public int N { get; } = n;
        public int C { get; } = c;
        public int S { get; } = s;
        public float[]? Gamma { get; } = gamma;
        public float[]? Beta { get; } = beta;
        public bool Training { get; } = training;
        public bool Relu { get; } = relu;
        public Pooling? Pooling { get; } = pooling;

        /// <summary>The per-channel mean used (the batch's in training, the running one in evaluation).</summary>
        public float[] Mean { get; } = new float[c];

        /// <summary>The per-channel 1 / sqrt(var + eps).</summary>
        public float[] InvStd { get; } = new float[c];

        /// <summary>Values per channel: N * S.</summary>
        public long M => (long)N * S;

        /// <summary>Whether channels are processed run by run (long runs), not row by row.</summary>
        public bool ChannelRuns => S >= MinRun;

        public ReadOnlySpan<float> Run(float[] a, int sample, int ch) => a.AsSpan((sample * C + ch) * S, S);

        public float Gain(int ch) => (Gamma?[ch] ?? 1f) * InvStd[ch];
    }

    /// <summary>
    /// Writes y (x's shape, or pooled with <see cref="Plan.Pooling"/>). In training it first computes
    /// each channel's mean and biased variance and updates the running statistics in place:
    /// (1 - momentum) old + momentum new, the variance unbiased (M / (M - 1)).
    /// </summary>
    public static void Forward(Plan p, float[] y, double eps, double momentum, float[]? runMean, float[]? runVar)
    {
        var job = new ForwardJob(p, y, eps, momentum, runMean, runVar);
        if (p.ChannelRuns) Dispatch(p, job);
        else job.Columns();
    }

    /// <summary>
    /// dx, dgamma and dbeta (each optional) from dy; with <paramref name="reluOutput"/> (the fused
    /// ReLU's output, channel runs only) dy is first masked where that output is not positive.
    /// With <see cref="Plan.Pooling"/>, dy and <paramref name="pooledOutput"/> are pooled-sized.
    /// </summary>
    public static void Backward(Plan p, float[] dy, float[]? dx, float[]? dGamma, float[]? dBeta, float[]? reluOutput = null, float[]? pooledOutput = null)
    {
        var job = new BackwardJob(p, dy, dx, dGamma, dBeta, reluOutput, pooledOutput);
        if (p.ChannelRuns) Dispatch(p, job);
        else job.Columns();
    }

    static void Dispatch(Plan p, IParallelJob job)
    {
        int threads = p.M * p.C < ParallelElements ? 1 : Math.Min(Threading.NumThreads, p.C);
        WorkerPool.Run(job, threads == 1 ? 1 : Math.Min(p.C, 4 * threads), threads);
    }

    /// <summary>One value per channel repeated along a row of width C * S.</summary>
    static float[] Widen(Plan p, Func<int, float> perChannel)
    {
        var w = new float[p.C * p.S];
        for (int ch = 0; ch < p.C; ch++) w.AsSpan(ch * p.S, p.S).Fill(perChannel(ch));
        return w;
    }

    static double[] ChannelSums(Plan p, double[] columns)
    {
        var r = new double[p.C];
        for (int j = 0; j < columns.Length; j++) r[j / p.S] += columns[j];
        return r;
    }

    sealed class ForwardJob(Plan p, float[] y, double eps, double momentum, float[]? runMean, float[]? runVar) : IParallelJob
    {
        public void RunChunk(int chunk, int chunks)
        {
            var (c0, c1) = Chunks.Range(p.C, chunk, chunks);
            for (int ch = c0; ch < c1; ch++) Channel(ch);
        }

        void Channel(int ch)
        {
            int n = p.N, s = p.S, c = p.C;
            if (p.Training && p.M > 0)
            {
                // One sweep over memory: each run's mean and squared deviations come from two passes
                // over the run while it is in L1, and the runs are merged with Chan et al.'s update
                // (exact for a sum of squared deviations, no E[x^2] - E[x]^2 cancellation).
                double mean = 0, m2 = 0;
                long count = 0;
                for (int i = 0; i < n; i++)
                {
                    var run = p.Run(p.X, i, ch);
                    double runMean = NormKernels.Sum(run) / s;
                    float runMeanF = (float)runMean;
                    double d = runMean - runMeanF;
                    double runM2 = NormKernels.SumSqDev(run, runMeanF) - s * d * d; // deviations about runMean
                    long total = count + s;
                    double delta = runMean - mean;
                    mean += delta * s / total;
                    m2 += runM2 + delta * delta * ((double)count * s / total);
                    count = total;
                }
                SetStats(ch, mean, Math.Max(0, m2) / p.M);
            }
            float a = p.Gain(ch), b = p.Beta?[ch] ?? 0f;
            if (p.Pooling is { } pool)
            {
                int ps = pool.PooledSize;
                for (int i = 0; i < n; i++)
                    Pool2dKernel.AffineReluMax2x2(p.Run(p.X, i, ch), pool.H, pool.W, p.Mean[ch], a, b,
                        y.AsSpan((i * c + ch) * ps, ps), pool.Argmax.AsSpan((i * c + ch) * ps, ps));
                return;
            }
            for (int i = 0; i < n; i++)
            {
                var yRun = y.AsSpan((i * c + ch) * s, s);
                NormKernels.Affine(p.Run(p.X, i, ch), p.Mean[ch], a, b, yRun);
                if (p.Relu) TensorPrimitives.Max(yRun, 0f, yRun);
            }
        }

        /// <summary>Saves a channel's batch statistics and updates its running ones (unbiased variance).</summary>
        void SetStats(int ch, double mean, double biasedVar)
        {
            p.Mean[ch] = (float)mean;
            p.InvStd[ch] = (float)(1 / Math.Sqrt(biasedVar + eps));
            if (runMean is not null) runMean[ch] = (float)((1 - momentum) * runMean[ch] + momentum * mean);
            if (runVar is not null)
                runVar[ch] = (float)((1 - momentum) * runVar[ch] + momentum * biasedVar * p.M / (p.M - 1));
        }

        /// <summary>Short runs: the statistics by column reductions, then the output row by row.</summary>
        public void Columns()
        {
            int n = p.N, c = p.C, width = c * p.S;
            if (p.Training && p.M > 0)
            {
                var sums = new double[width];
                NormKernels.ColumnReduce(p.X, default, null, n, width, sums);
                var mean = ChannelSums(p, sums);
                for (int ch = 0; ch < c; ch++) mean[ch] /= p.M;
                var centerW = Widen(p, ch => (float)mean[ch]);
                var sq = new double[width];
                NormKernels.ColumnReduce(p.X, default, centerW, n, width, sq);
                var ss = ChannelSums(p, sq);
                for (int ch = 0; ch < c; ch++) SetStats(ch, mean[ch], ss[ch] / p.M);
            }
            var meanW = Widen(p, ch => p.Mean[ch]);
            var scaleW = Widen(p, p.Gain);
            var shiftW = Widen(p, ch => p.Beta?[ch] ?? 0f);
            var tmp = new float[width];
            for (int r = 0; r < n; r++)
            {
                TensorPrimitives.Subtract(p.X.AsSpan(r * width, width), meanW, tmp);
                TensorPrimitives.MultiplyAdd(tmp, scaleW, shiftW, y.AsSpan(r * width, width));
                if (p.Relu) TensorPrimitives.Max(y.AsSpan(r * width, width), 0f, y.AsSpan(r * width, width));
            }
        }
    }

    sealed class BackwardJob(Plan p, float[] dy, float[]? dx, float[]? dGamma, float[]? dBeta, float[]? reluOutput, float[]? pooledOutput)
        : IParallelJob
    {
        [ThreadStatic] static float[]? t_masked;
        [ThreadStatic] static float[]? t_pooledGrad;

        public void RunChunk(int chunk, int chunks)
        {
            var (c0, c1) = Chunks.Range(p.C, chunk, chunks);
            for (int ch = c0; ch < c1; ch++)
                if (pooledOutput is not null) PooledChannel(ch);
                else Channel(ch);
        }

        /// <summary>dy for run i of channel ch: the gradient itself, or masked by the fused ReLU into a per-thread buffer.</summary>
        ReadOnlySpan<float> Dy(int i, int ch)
        {
            var run = p.Run(dy, i, ch);
            if (reluOutput is null) return run;
            var buf = t_masked is { } b && b.Length >= p.S ? b : t_masked = new float[Math.Max(p.S, 1024)];
            var masked = buf.AsSpan(0, p.S);
            Activation.ReluBackward(p.Run(reluOutput, i, ch), run, masked);
            return masked;
        }

        void Channel(int ch)
        {
            int n = p.N, s = p.S, c = p.C;
            float mean = p.Mean[ch], inv = p.InvStd[ch], g = p.Gamma?[ch] ?? 1f;
            double sdy = 0, sdx = 0;
            if (p.Training || dGamma is not null || dBeta is not null)
                for (int i = 0; i < n; i++)
                {
                    var (a0, a1) = NormKernels.SumAndDotDev(Dy(i, ch), p.Run(p.X, i, ch), mean);
                    sdy += a0;
                    sdx += a1;
                }
            if (dGamma is not null) dGamma[ch] = (float)(sdx * inv);
            if (dBeta is not null) dBeta[ch] = (float)sdy;
            if (dx is null) return;
            float a = g * inv;
            if (!p.Training)
            {
                for (int i = 0; i < n; i++) TensorPrimitives.Multiply(Dy(i, ch), a, dx.AsSpan((i * c + ch) * s, s));
                return;
            }
            float k = (float)((double)a * inv * inv * sdx / p.M), b = (float)(a * sdy / p.M);
            for (int i = 0; i < n; i++)
                NormKernels.Backward(Dy(i, ch), p.Run(p.X, i, ch), mean, a, k, b, dx.AsSpan((i * c + ch) * s, s));
        }

        /// <summary>
        /// Batch norm's backward for one channel when ReLU and 2x2 max pooling followed: the gradient
        /// dz of the normalized value is the pooled gradient at each window's argmax where the pooled
        /// output is positive, zero elsewhere, so the sums run over the pooled outputs only.
        /// </summary>
        void PooledChannel(int ch)
        {
            var pool = p.Pooling!;
            int n = p.N, s = p.S, c = p.C, ps = pool.PooledSize;
            float mean = p.Mean[ch], inv = p.InvStd[ch], g = p.Gamma?[ch] ?? 1f;
            // dz at each window's argmax, for the whole channel, kept for the second sweep.
            var gz = t_pooledGrad is { } buf && buf.Length >= n * ps ? buf : t_pooledGrad = new float[n * ps];
            double sdy = 0, sdx = 0;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * ps;
                var (s0, s1) = MaskedArgmaxSums(p.Run(p.X, i, ch), dy.AsSpan(off, ps), pooledOutput.AsSpan(off, ps),
                    pool.Argmax.AsSpan(off, ps), mean, gz.AsSpan(i * ps, ps));
                sdy += s0;
                sdx += s1;
            }
            if (dGamma is not null) dGamma[ch] = (float)(sdx * inv);
            if (dBeta is not null) dBeta[ch] = (float)sdy;
            if (dx is null) return;
            float a = g * inv;
            float k = p.Training ? (float)((double)a * inv * inv * sdx / p.M) : 0f, b = p.Training ? (float)(a * sdy / p.M) : 0f;
            for (int i = 0; i < n; i++)
            {
                var dxRun = dx.AsSpan((i * c + ch) * s, s);
                // The dense part -(k (x - mean) + b), then a dz added at the argmax positions.
                if (p.Training) NormKernels.Affine(p.Run(p.X, i, ch), mean, -k, -b, dxRun);
                else dxRun.Clear();
                var am = pool.Argmax.AsSpan((i * c + ch) * ps, ps);
                var gzRun = gz.AsSpan(i * ps, ps);
                for (int q = 0; q < ps; q++) dxRun[(int)am[q]] += a * gzRun[q];
            }
        }

        /// <summary>Short runs: the channel sums by column reductions, then dx row by row.</summary>
        public void Columns()
        {
            int n = p.N, c = p.C, width = c * p.S;
            var meanW = Widen(p, ch => p.Mean[ch]);
            double[] sdy = new double[c], sdx = new double[c];
            if (p.Training || dGamma is not null || dBeta is not null)
            {
                var cols = new double[width];
                NormKernels.ColumnReduce(dy, default, null, n, width, cols);
                sdy = ChannelSums(p, cols);
                Array.Clear(cols);
                NormKernels.ColumnReduce(p.X, dy, meanW, n, width, cols);
                sdx = ChannelSums(p, cols);
            }
            for (int ch = 0; ch < c; ch++)
            {
                if (dGamma is not null) dGamma[ch] = (float)(sdx[ch] * p.InvStd[ch]);
                if (dBeta is not null) dBeta[ch] = (float)sdy[ch];
            }
            if (dx is null) return;
            var aW = Widen(p, p.Gain);
            if (!p.Training)
            {
                for (int r = 0; r < n; r++)
                    TensorPrimitives.Multiply(dy.AsSpan(r * width, width), aW, dx.AsSpan(r * width, width));
                return;
            }
            // dx = a dy - k (x - mean) - b, as in NormKernels.Backward, with k and b per channel
            var negKW = Widen(p, ch => (float)(-(double)(p.Gamma?[ch] ?? 1f) * p.InvStd[ch] * p.InvStd[ch] * p.InvStd[ch] * sdx[ch] / p.M));
            var bW = Widen(p, ch => (float)((p.Gamma?[ch] ?? 1f) * p.InvStd[ch] * sdy[ch] / p.M));
            var tmp = new float[width];
            for (int r = 0; r < n; r++)
            {
                var dxr = dx.AsSpan(r * width, width);
                TensorPrimitives.Subtract(p.X.AsSpan(r * width, width), meanW, tmp);
                TensorPrimitives.Multiply(dy.AsSpan(r * width, width), aW, dxr);
                TensorPrimitives.MultiplyAdd(tmp, negKW, dxr, dxr);
                TensorPrimitives.Subtract(dxr, bW, dxr);
            }
        }
    }

    /// <summary>
    /// For one pooled plane: gz = dy where the pooled output is positive (ReLU's mask), else 0, and
    /// the sums Σ gz and Σ gz (x[argmax] - mean). Branch-free, since the mask is a coin flip per
    /// window; with AVX2 the inputs at the argmax positions are gathered eight at a time.
    /// </summary>
    static unsafe (float SumG, float SumGDev) MaskedArgmaxSums(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> pooledY,
        ReadOnlySpan<float> argmax, float mean, Span<float> gz)
    {
        int ps = dy.Length, q = 0;
        float s0 = 0, s1 = 0;
        fixed (float* px = x, pdy = dy, py = pooledY, pam = argmax, pg = gz)
        {
            if (Avx2.IsSupported)
            {
                var v0 = Vector256<float>.Zero;
                var v1 = Vector256<float>.Zero;
                var vm = Vector256.Create(mean);
                for (; q + 8 <= ps; q += 8)
                {
                    var gv = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(py + q), Vector256<float>.Zero),
                        Vector256.Load(pdy + q), Vector256<float>.Zero);
                    gv.Store(pg + q);
                    var xv = Avx2.GatherVector256(px, Vector256.ConvertToInt32(Vector256.Load(pam + q)), 4);
                    v0 += gv;
                    v1 = Vector256.MultiplyAddEstimate(gv, xv - vm, v1);
                }
                s0 = Vector256.Sum(v0);
                s1 = Vector256.Sum(v1);
            }
            for (; q < ps; q++)
            {
                float gq = py[q] > 0 ? pdy[q] : 0f;
                pg[q] = gq;
                s0 += gq;
                s1 += gq * (px[(int)pam[q]] - mean);
            }
        }
        return (s0, s1);
    }
}
