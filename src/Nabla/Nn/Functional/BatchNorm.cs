using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// Batch normalization, as <c>F.batch_norm</c>: each channel is normalized by a mean and a
    /// variance, then scaled by <paramref name="weight"/> (gamma) and shifted by <paramref name="bias"/>
    /// (beta). Shapes: input (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)); the other tensors (C).
    /// </summary>
    /// <remarks>
    /// <para>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta, with eps inside the square root.
    /// In training the mean and the biased variance (divided by M = N * L or N * H * W) are the
    /// current batch's; the running statistics, when given, are updated in place:
    /// running_mean = (1 - momentum) running_mean + momentum mean and running_var = (1 - momentum)
    /// running_var + momentum var_unbiased (divided by M - 1). Momentum 0.1 weights the new batch, the
    /// opposite convention to Keras's 0.99. In evaluation the running statistics are used and left alone.
    /// </para>
    /// <para>
    /// Why two modes: normalizing with the batch's own statistics keeps each layer's input
    /// distribution steady while the layers below change, and its gradient flows through the mean and
    /// variance (so the network cannot undo the normalization by shifting its activations). At test
    /// time one example must not depend on the others in its batch, and a batch may hold one example,
    /// so the fixed running averages, estimated during training, stand in for the batch's.
    /// </para>
    /// <para>
    /// Fused kernels, channel by channel (in parallel over channels for large inputs): forward takes
    /// the mean, then the squared deviations from it (two passes, not E[x^2] - E[x]^2), then writes
    /// the output in one sweep. Backward makes one pass for Σ dy and Σ dy (x - mean) and one writing
    /// dx = (gamma invstd / M) (M dy - Σ dy - x̂ Σ dy x̂), with dgamma = Σ dy x̂ and dbeta = Σ dy.
    /// Only the per-channel mean and 1/sqrt(var + eps) are saved: x̂ is recomputed from the input
    /// (which the graph holds anyway), which costs one subtraction and one multiplication per element
    /// instead of an activation-sized buffer written in forward and read back in backward.
    /// The running statistics get no gradient.
    /// </para>
    /// </remarks>
    /// <param name="input">The input (N, C, *).</param>
    /// <param name="runningMean">The running mean (C), updated in place in training; may be null in training.</param>
    /// <param name="runningVar">The running variance (C), updated in place in training; may be null in training.</param>
    /// <param name="weight">gamma (C), or null for 1.</param>
    /// <param name="bias">beta (C), or null for 0.</param>
    /// <param name="training">Use the batch's statistics (and update the running ones) rather than the running ones.</param>
    /// <param name="momentum">The weight of the new batch in the running statistics.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <exception cref="ShapeException">The input has fewer than 2 dimensions, a per-channel tensor is not of
    /// shape (C), or training gets one value per channel.</exception>
    /// <exception cref="ArgumentException">Evaluation without running statistics.</exception>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null,
        Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: false);

    /// <summary>
    /// relu(batch_norm(...)) as one operation: the ReLU is applied to each run of the output while it
    /// is still in cache, which saves a full read and write of the activation in the forward pass
    /// (BatchNorm2d followed by ReLU is the commonest pair in convolutional networks). Backward masks
    /// the gradient by the saved output and continues as batch norm's.
    /// </summary>
    internal static Tensor BatchNormRelu(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true);

    /// <summary>
    /// max_pool2d(relu(batch_norm(...)), 2) as one operation, for (N, C, H, W) input with H * W at
    /// least 16: the normalized, rectified activation is never written to memory. The forward pass
    /// reads the input twice (statistics, then normalize-rectify-pool) and writes only the pooled
    /// output and its argmax; backward sends each pooled gradient to its window's maximum where it
    /// was positive and runs batch norm's backward plane by plane. The values equal those of the
    /// three layers one after the other (the gradient's sums are taken in another order).
    /// </summary>
    internal static Tensor BatchNormReluMaxPool2(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true, pool: true);

    /// <summary>Whether <see cref="BatchNormReluMaxPool2"/> takes this input: (N, C, H, W) with planes of at least 16 pixels, H and W at least 2.</summary>
    internal static bool CanFusePool(Tensor input) =>
        input.Rank == 4 && input.Dims[2] >= 2 && input.Dims[3] >= 2 && input.Dims[2] * input.Dims[3] >= BatchNormJob.MinRun;

    static Tensor BatchNormCore(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps, bool relu, bool pool = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        const string op = "batch_norm";
        if (input.Rank < 2)
            throw new ShapeException(op, "input of shape (N, C, *) with at least 2 dimensions", input.ShapeString);
        int c = input.Dims[1];
        CheckPerChannel(op, "running_mean", runningMean, c);
        CheckPerChannel(op, "running_var", runningVar, c);
        CheckPerChannel(op, "weight", weight, c);
        CheckPerChannel(op, "bias", bias, c);
        if (!training && runningMean is null)
            throw new ArgumentException("batch_norm: running_mean must be defined in evaluation mode", nameof(runningMean));
        if (!training && runningVar is null)
            throw new ArgumentException("batch_norm: running_var must be defined in evaluation mode", nameof(runningVar));
        if (training) CheckMoreThanOneValuePerChannel(op, input);

        var job = new BatchNormJob(input.Storage, input.Dims[0], c, TrailingSize(input, 2), weight?.Storage, bias?.Storage, training, relu);
        Tensor? argmax = null;
        int[] outDims = (int[])input.Dims.Clone();
        if (pool)
        {
            if (!CanFusePool(input))
                throw new ShapeException("batch_norm_relu_max_pool2d", "input of shape (N, C, H, W) with H, W >= 2 and H * W >= 16", input.ShapeString);
            (outDims[2], outDims[3]) = (input.Dims[2] / 2, input.Dims[3] / 2);
            argmax = new Tensor((int[])outDims.Clone(), clear: false);
            job.SetPooling(input.Dims[2], input.Dims[3], argmax.Storage);
        }
        var y = new Tensor(outDims, clear: false);
        if (training) job.Forward(y.Storage, eps, momentum, runningMean?.Storage, runningVar?.Storage);
        else
        {
            var rm = runningMean!.Storage;
            var rv = runningVar!.Storage;
            for (int i = 0; i < c; i++)
            {
                job.Mean[i] = rm[i];
                job.InvStd[i] = (float)(1 / Math.Sqrt(rv[i] + eps));
            }
            job.Forward(y.Storage, eps, momentum, null, null);
        }

        Tensor[] inputs = AffineInputs(input, weight, bias);
        if (pool)
            return Tensor.Record(y, "batch_norm_relu_max_pool2d", inputs, g =>
            {
                var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
                var gw = weight is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
                var gb = bias is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
                job.BackwardPooled(g.Storage, y.Storage, argmax!.Storage, gx?.Storage, gw?.Storage, gb?.Storage);
                return AffineGrads(inputs, gx, gw, gb, weight, bias);
            });
        return Tensor.Record(y, relu ? "batch_norm_relu" : "batch_norm", inputs, g =>
        {
            if (relu && !job.ChannelRuns)
            {
                // The gradient passes where the output is positive (ReLU's rule on the saved output);
                // channel runs mask it run by run inside the backward sweeps instead.
                var masked = new Tensor((int[])g.Dims.Clone(), clear: false);
                Kernels.Activation.ReluBackward(y.Storage, g.Storage, masked.Storage);
                g = masked;
            }
            var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
            var gw = weight is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
            var gb = bias is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
            job.Backward(g.Storage, gx?.Storage, gw?.Storage, gb?.Storage, relu && job.ChannelRuns ? y.Storage : null);
            return AffineGrads(inputs, gx, gw, gb, weight, bias);
        });
    }

    /// <summary>
    /// Batch statistics need two values per channel: with one the variance is 0 and every output is
    /// beta. PyTorch refuses such a training batch; it is typically an epoch's last, partial batch.
    /// </summary>
    /// <param name="op">The function or, with <paramref name="layer"/>, the layer (<c>BatchNorm2d(3)</c>) named in the error.</param>
    /// <param name="input">The training input.</param>
    /// <param name="layer">Word the error as a layer's (<c>BatchNorm2d(3) expects ...</c>).</param>
    internal static void CheckMoreThanOneValuePerChannel(string op, Tensor input, bool layer = false)
    {
        if (input.Rank >= 2 && (long)input.Dims[0] * TrailingSize(input, 2) == 1)
        {
            const string expected = "more than 1 value per channel when training";
            const string hint = "a batch of one sample has no batch statistics; drop the last partial batch or call Eval()";
            string actual = $"input size {input.ShapeString}";
            throw layer ? ShapeException.ForLayer(op, expected, actual, hint) : new ShapeException(op, expected, actual, hint);
        }
    }

    static void CheckPerChannel(string op, string name, Tensor? t, int channels)
    {
        if (t is not null && (t.Rank != 1 || t.Dims[0] != channels))
            throw new ShapeException(op, $"{name} of shape [{channels}] (one value per channel)", t.ShapeString);
    }

    /// <summary>The product of the dimensions from <paramref name="start"/> on (1 when there are none).</summary>
    static int TrailingSize(Tensor t, int start)
    {
        int s = 1;
        for (int i = start; i < t.Rank; i++) s *= t.Dims[i];
        return s;
    }

    /// <summary>
    /// The batch-norm kernels on an (N, C, S) layout. Channels whose runs are long (S at least
    /// <see cref="MinRun"/>) are processed one at a time, run by run, with the channel's data still in
    /// cache between passes; short runs (batch norm on (N, C)) are processed row by row, vectorized
    /// across the channels.
    /// </summary>
    sealed class BatchNormJob(float[] x, int n, int c, int s, float[]? gamma, float[]? beta, bool training, bool relu) : IParallelJob
    {
        /// <summary>Shortest H*W (or L) run worth processing channel by channel.</summary>
        public const int MinRun = 16;

        // Fused 2x2 max pooling: plane height and width, and the argmax of each pooled output.
        int _h, _w;
        float[]? _argmax, _pooledY;

        public void SetPooling(int h, int w, float[] argmax) => (_h, _w, _argmax) = (h, w, argmax);

        /// <summary>Backward of the fused batch norm, ReLU and 2x2 max pooling; dy and y are pooled-sized.</summary>
        public void BackwardPooled(float[] dy, float[] y, float[] argmax, float[]? dx, float[]? dGamma, float[]? dBeta)
        {
            (_dy, _pooledY, _argmax, _dx, _dGamma, _dBeta, _backward) = (dy, y, argmax, dx, dGamma, dBeta, true);
            Dispatch();
            _dy = _dx = _dGamma = _dBeta = _pooledY = null;
        }

        /// <summary>Fewest elements worth sharing among threads.</summary>
        const int ParallelElements = 1 << 15;

        public readonly float[] Mean = new float[c];
        public readonly float[] InvStd = new float[c];
        readonly long _m = (long)n * s;
        bool _backward;
        double _eps, _momentum;
        float[]? _runMean, _runVar, _y, _dy, _dx, _dGamma, _dBeta;

        public void Forward(float[] y, double eps, double momentum, float[]? runMean, float[]? runVar)
        {
            (_y, _eps, _momentum, _runMean, _runVar, _backward) = (y, eps, momentum, runMean, runVar, false);
            Dispatch();
            _y = null; // the backward closure keeps this job; it must not keep the output alive
        }

        /// <summary>Whether channels are processed run by run (long runs), not row by row.</summary>
        public bool ChannelRuns => s >= MinRun;

        /// <summary>The backward sweeps; with <paramref name="reluOutput"/>, dy is first masked where that output is not positive.</summary>
        public void Backward(float[] dy, float[]? dx, float[]? dGamma, float[]? dBeta, float[]? reluOutput = null)
        {
            (_dy, _dx, _dGamma, _dBeta, _reluY, _backward) = (dy, dx, dGamma, dBeta, reluOutput, true);
            Dispatch();
            _dy = _dx = _dGamma = _dBeta = _reluY = null;
        }

        float[]? _reluY;

        [ThreadStatic] static float[]? t_masked;

        /// <summary>dy for run i of channel ch: the gradient itself, or masked by the fused ReLU into a per-thread buffer.</summary>
        ReadOnlySpan<float> Dy(int i, int ch)
        {
            var dy = Run(_dy!, i, ch);
            if (_reluY is null) return dy;
            var buf = t_masked is { } b && b.Length >= s ? b : t_masked = new float[Math.Max(s, 1024)];
            var masked = buf.AsSpan(0, s);
            Kernels.Activation.ReluBackward(Run(_reluY, i, ch), dy, masked);
            return masked;
        }

        void Dispatch()
        {
            if (s < MinRun)
            {
                if (_backward) BackwardColumns();
                else ForwardColumns();
                return;
            }
            int threads = _m * c < ParallelElements ? 1 : Math.Min(Threading.NumThreads, c);
            WorkerPool.Run(this, threads == 1 ? 1 : Math.Min(c, 4 * threads), threads);
        }

        public void RunChunk(int chunk, int chunks)
        {
            int c0 = (int)((long)c * chunk / chunks), c1 = (int)((long)c * (chunk + 1) / chunks);
            for (int ch = c0; ch < c1; ch++)
                if (_backward) BackwardChannel(ch);
                else ForwardChannel(ch);
        }

        ReadOnlySpan<float> Run(float[] a, int sample, int ch) => a.AsSpan((sample * c + ch) * s, s);

        void ForwardChannel(int ch)
        {
            if (training && _m > 0)
            {
                // One sweep over memory: each run's mean and squared deviations come from two passes
                // over the run while it is in L1, and the runs are merged with Chan et al.'s update
                // (exact for a sum of squared deviations, no E[x^2] - E[x]^2 cancellation).
                double mean = 0, m2 = 0;
                long count = 0;
                for (int i = 0; i < n; i++)
                {
                    var run = Run(x, i, ch);
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
                SetStats(ch, mean, Math.Max(0, m2) / _m);
            }
            float a = (gamma?[ch] ?? 1f) * InvStd[ch], b = beta?[ch] ?? 0f;
            if (_argmax is not null)
            {
                int ps = (_h / 2) * (_w / 2);
                for (int i = 0; i < n; i++)
                    Kernels.Pool2dKernel.AffineReluMax2x2(Run(x, i, ch), _h, _w, Mean[ch], a, b,
                        _y.AsSpan((i * c + ch) * ps, ps), _argmax.AsSpan((i * c + ch) * ps, ps));
                return;
            }
            for (int i = 0; i < n; i++)
            {
                var yRun = _y.AsSpan((i * c + ch) * s, s);
                NormKernels.Affine(Run(x, i, ch), Mean[ch], a, b, yRun);
                if (relu) TensorPrimitives.Max(yRun, 0f, yRun);
            }
        }

        /// <summary>Saves a channel's batch statistics and updates its running ones (unbiased variance).</summary>
        void SetStats(int ch, double mean, double biasedVar)
        {
            Mean[ch] = (float)mean;
            InvStd[ch] = (float)(1 / Math.Sqrt(biasedVar + _eps));
            if (_runMean is not null) _runMean[ch] = (float)((1 - _momentum) * _runMean[ch] + _momentum * mean);
            if (_runVar is not null)
                _runVar[ch] = (float)((1 - _momentum) * _runVar[ch] + _momentum * biasedVar * _m / (_m - 1));
        }

        /// <summary>
        /// Batch norm's backward for one channel when ReLU and 2x2 max pooling followed: the gradient
        /// dz of the normalized value is the pooled gradient at each window's argmax where the pooled
        /// output is positive, zero elsewhere, so the sums run over the pooled outputs only.
        /// </summary>
        [ThreadStatic] static float[]? t_pooledGrad;

        unsafe void BackwardPooledChannel(int ch)
        {
            float mean = Mean[ch], inv = InvStd[ch], g = gamma?[ch] ?? 1f;
            int ps = (_h / 2) * (_w / 2);
            // dz at each window's argmax: the pooled gradient where the pooled output is positive
            // (ReLU's mask), for the whole channel, kept for the second sweep. Branch-free: the mask
            // is a coin flip per window.
            var gz = t_pooledGrad is { } buf && buf.Length >= n * ps ? buf : t_pooledGrad = new float[n * ps];
            double sdy = 0, sdx = 0;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * ps;
                var xs = Run(x, i, ch);
                var dy = _dy.AsSpan(off, ps);
                var y = _pooledY.AsSpan(off, ps);
                var am = _argmax.AsSpan(off, ps);
                var gzRun = gz.AsSpan(i * ps, ps);
                float s0 = 0, s1 = 0;
                int q = 0;
                fixed (float* px = xs, pdy = dy, py = y, pam = am, pg = gzRun)
                {
                    if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                    {
                        var v0 = Vector256<float>.Zero;
                        var v1 = Vector256<float>.Zero;
                        var vm = Vector256.Create(mean);
                        for (; q + 8 <= ps; q += 8)
                        {
                            var gv = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(py + q), Vector256<float>.Zero),
                                Vector256.Load(pdy + q), Vector256<float>.Zero);
                            gv.Store(pg + q);
                            var xv = System.Runtime.Intrinsics.X86.Avx2.GatherVector256(px, Vector256.ConvertToInt32(Vector256.Load(pam + q)), 4);
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
                sdy += s0;
                sdx += s1;
            }
            if (_dGamma is not null) _dGamma[ch] = (float)(sdx * inv);
            if (_dBeta is not null) _dBeta[ch] = (float)sdy;
            if (_dx is null) return;
            float a = g * inv;
            float k = training ? (float)((double)a * inv * inv * sdx / _m) : 0f, b = training ? (float)(a * sdy / _m) : 0f;
            for (int i = 0; i < n; i++)
            {
                var dx = _dx.AsSpan((i * c + ch) * s, s);
                // The dense part -(k (x - mean) + b), then a dz added at the argmax positions.
                if (training) NormKernels.Affine(Run(x, i, ch), mean, -k, -b, dx);
                else dx.Clear();
                var am = _argmax.AsSpan((i * c + ch) * ps, ps);
                var gzRun = gz.AsSpan(i * ps, ps);
                for (int q = 0; q < ps; q++) dx[(int)am[q]] += a * gzRun[q];
            }
        }

        void BackwardChannel(int ch)
        {
            if (_pooledY is not null)
            {
                BackwardPooledChannel(ch);
                return;
            }
            float mean = Mean[ch], inv = InvStd[ch], g = gamma?[ch] ?? 1f;
            double sdy = 0, sdx = 0;
            if (training || _dGamma is not null || _dBeta is not null)
                for (int i = 0; i < n; i++)
                {
                    var (a0, a1) = NormKernels.SumAndDotDev(Dy(i, ch), Run(x, i, ch), mean);
                    sdy += a0;
                    sdx += a1;
                }
            if (_dGamma is not null) _dGamma[ch] = (float)(sdx * inv);
            if (_dBeta is not null) _dBeta[ch] = (float)sdy;
            if (_dx is null) return;
            float a = g * inv;
            if (!training)
            {
                for (int i = 0; i < n; i++) TensorPrimitives.Multiply(Dy(i, ch), a, _dx.AsSpan((i * c + ch) * s, s));
                return;
            }
            float k = (float)((double)a * inv * inv * sdx / _m), b = (float)(a * sdy / _m);
            for (int i = 0; i < n; i++)
                NormKernels.Backward(Dy(i, ch), Run(x, i, ch), mean, a, k, b, _dx.AsSpan((i * c + ch) * s, s));
        }

        /// <summary>One value per channel repeated along a row of width C * S.</summary>
        float[] Widen(Func<int, float> perChannel)
        {
            var w = new float[c * s];
            for (int ch = 0; ch < c; ch++) w.AsSpan(ch * s, s).Fill(perChannel(ch));
            return w;
        }

        double[] ChannelSums(double[] columns)
        {
            var r = new double[c];
            for (int j = 0; j < columns.Length; j++) r[j / s] += columns[j];
            return r;
        }

        void ForwardColumns()
        {
            int width = c * s;
            if (training && _m > 0)
            {
                var sums = new double[width];
                NormKernels.ColumnReduce(x, default, null, n, width, sums);
                var mean = ChannelSums(sums);
                for (int ch = 0; ch < c; ch++) mean[ch] /= _m;
                var centerW = Widen(ch => (float)mean[ch]);
                var sq = new double[width];
                NormKernels.ColumnReduce(x, default, centerW, n, width, sq);
                var ss = ChannelSums(sq);
                for (int ch = 0; ch < c; ch++) SetStats(ch, mean[ch], ss[ch] / _m);
            }
            var meanW = Widen(ch => Mean[ch]);
            var scaleW = Widen(ch => (gamma?[ch] ?? 1f) * InvStd[ch]);
            var shiftW = Widen(ch => beta?[ch] ?? 0f);
            var tmp = new float[width];
            for (int r = 0; r < n; r++)
            {
                TensorPrimitives.Subtract(x.AsSpan(r * width, width), meanW, tmp);
                TensorPrimitives.MultiplyAdd(tmp, scaleW, shiftW, _y.AsSpan(r * width, width));
                if (relu) TensorPrimitives.Max(_y.AsSpan(r * width, width), 0f, _y.AsSpan(r * width, width));
            }
        }

        void BackwardColumns()
        {
            int width = c * s;
            var meanW = Widen(ch => Mean[ch]);
            double[] sdy = new double[c], sdx = new double[c];
            if (training || _dGamma is not null || _dBeta is not null)
            {
                var cols = new double[width];
                NormKernels.ColumnReduce(_dy!, default, null, n, width, cols);
                sdy = ChannelSums(cols);
                Array.Clear(cols);
                NormKernels.ColumnReduce(x, _dy!, meanW, n, width, cols);
                sdx = ChannelSums(cols);
            }
            for (int ch = 0; ch < c; ch++)
            {
                if (_dGamma is not null) _dGamma[ch] = (float)(sdx[ch] * InvStd[ch]);
                if (_dBeta is not null) _dBeta[ch] = (float)sdy[ch];
            }
            if (_dx is null) return;
            var aW = Widen(ch => (gamma?[ch] ?? 1f) * InvStd[ch]);
            if (!training)
            {
                for (int r = 0; r < n; r++)
                    TensorPrimitives.Multiply(_dy!.AsSpan(r * width, width), aW, _dx.AsSpan(r * width, width));
                return;
            }
            // dx = a dy - k (x - mean) - b, as in NormKernels.Backward, with k and b per channel
            var negKW = Widen(ch => (float)(-(double)(gamma?[ch] ?? 1f) * InvStd[ch] * InvStd[ch] * InvStd[ch] * sdx[ch] / _m));
            var bW = Widen(ch => (float)((gamma?[ch] ?? 1f) * InvStd[ch] * sdy[ch] / _m));
            var tmp = new float[width];
            for (int r = 0; r < n; r++)
            {
                var dxr = _dx.AsSpan(r * width, width);
                TensorPrimitives.Subtract(x.AsSpan(r * width, width), meanW, tmp);
                TensorPrimitives.Multiply(_dy!.AsSpan(r * width, width), aW, dxr);
                TensorPrimitives.MultiplyAdd(tmp, negKW, dxr, dxr);
                TensorPrimitives.Subtract(dxr, bW, dxr);
            }
        }
    }
}
