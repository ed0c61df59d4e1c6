using Nabla.Kernels;

using Nabla.Nn;

namespace Nabla.Losses;

public abstract partial class Loss
{
    /// <summary>
    /// Mean absolute error |input - target|, as <c>F.l1_loss</c>. Input and target have the same
    /// shape; the output is a scalar, or the input's shape with <see cref="Reduction.None"/>.
    /// </summary>
    /// <remarks>The gradient is sign(input - target) (0 where they are equal), scaled by 1/numel for the mean.</remarks>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        PointwiseLoss("l1_loss", input, target, reduction, new L1Kernel());

    /// <summary>
    /// Mean squared error (input - target)^2, as <c>F.mse_loss</c>. Input and target have the same
    /// shape; the output is a scalar, or the input's shape with <see cref="Reduction.None"/>.
    /// </summary>
    /// <remarks>The loss of regression under Gaussian noise; gradient 2 (input - target), / numel for the mean.</remarks>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        PointwiseLoss("mse_loss", input, target, reduction, new MseKernel());

    /// <summary>
    /// Smooth L1 loss, as <c>F.smooth_l1_loss</c>: with d = input - target, 0.5 d^2 / beta where
    /// |d| &lt; beta, else |d| - 0.5 beta (default beta 1; beta = 0 is the L1 loss).
    /// </summary>
    /// <remarks>
    /// Quadratic near zero, linear in the tails, so outliers pull with bounded force; equals
    /// <see cref="HuberLoss"/> / beta. Gradient: d / beta inside, sign(d) outside.
    /// </remarks>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1)
    {
        if (!(beta >= 0))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"smooth_l1_loss: expected beta >= 0; got {beta}");
        return PointwiseLoss("smooth_l1_loss", input, target, reduction, new SmoothL1Kernel(beta));
    }

    /// <summary>
    /// Huber loss, as <c>F.huber_loss</c>: with d = input - target, 0.5 d^2 where |d| &lt; delta, else
    /// delta (|d| - 0.5 delta) (default delta 1).
    /// </summary>
    /// <remarks>Gradient: d clamped to [-delta, delta].</remarks>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1)
    {
        if (!(delta > 0))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"huber_loss: expected delta > 0; got {delta}");
        return PointwiseLoss("huber_loss", input, target, reduction, new HuberKernel(delta));
    }

    /// <summary>
    /// Binary cross-entropy of probabilities, as <c>F.binary_cross_entropy</c>:
    /// -(y log x + (1 - y) log(1 - x)), each log clamped at -100 as in PyTorch so that the loss and
    /// its gradient stay finite at x = 0 or 1. Input in [0, 1]; target of the same shape.
    /// </summary>
    /// <remarks>
    /// Gradient (PyTorch's): (x - y) / max(x (1 - x), 1e-12). Prefer
    /// <see cref="BinaryCrossEntropyWithLogits"/> on raw scores: a sigmoid that saturates to 0 or 1
    /// in float32 loses the information this loss needs.
    /// </remarks>
    /// <exception cref="ShapeException">An input value outside [0, 1] (or NaN), named with its position.</exception>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        var xs = input.Storage;
        for (int i = 0; i < xs.Length; i++)
            if (!(xs[i] >= 0 && xs[i] <= 1))
                throw new ShapeException("binary_cross_entropy", "input probabilities in [0, 1]",
                    $"{xs[i]} at input{ShapeException.Str(Unravel(input.Dims, i))}",
                    "apply Sigmoid first, or pass the raw scores to BinaryCrossEntropyWithLogits (more stable)");
        return PointwiseLoss("binary_cross_entropy", input, target, reduction, new BceKernel());
    }

    /// <summary>
    /// Binary cross-entropy of logits, as <c>F.binary_cross_entropy_with_logits</c>: the BCE of
    /// sigmoid(x), computed stably as max(x, 0) - x y + log(1 + e^-|x|). Target of the input's shape.
    /// </summary>
    /// <remarks>
    /// <paramref name="posWeight"/> (shape (C), broadcast along the input's last dimension, or (1))
    /// multiplies the loss of positive targets: p y log sigma(x) + (1 - y) log(1 - sigma(x)), which
    /// trades recall for precision on imbalanced classes; it is a constant (no gradient flows to it).
    /// Gradient: sigma(x) - y without posWeight.
    /// </remarks>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        Tensor? posWeight = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        int c = input.Rank == 0 ? 1 : input.Dims[^1];
        if (posWeight is not null && (posWeight.Rank != 1 || (posWeight.Dims[0] != c && posWeight.Dims[0] != 1)))
            throw new ShapeException("binary_cross_entropy_with_logits",
                $"a posWeight of shape [{c}] (one weight per entry of the input's last dimension) or [1]", posWeight.ShapeString);
        return PointwiseLoss("binary_cross_entropy_with_logits", input, target, reduction,
            new BceLogitsKernel(posWeight?.Storage, c));
    }

    /// <summary>One point-wise loss: its value and its partial derivatives at element i.</summary>
    interface IPointwiseLoss
    {
        double Value(int i, double x, double y);
        double DInput(int i, double x, double y);
        double DTarget(int i, double x, double y);
    }

    /// <summary>
    /// The shared driver of the point-wise losses: checks, a float64 reduction, and the fused
    /// backward to input and target. Generic over a struct so each kernel is inlined, not called.
    /// </summary>
    static Tensor PointwiseLoss<TK>(string op, Tensor input, Tensor target, Reduction reduction, TK k)
        where TK : struct, IPointwiseLoss
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        Loss.CheckReduction(reduction, op);
        CheckSameShape(op, input, target);
        var xs = input.Storage;
        var ts = target.Storage;
        int n = xs.Length;
        Tensor output;
        if (reduction == Reduction.None)
        {
            output = new Tensor((int[])input.Dims.Clone(), clear: false);
            var os = output.Storage;
            for (int i = 0; i < n; i++) os[i] = (float)k.Value(i, xs[i], ts[i]);
        }
        else
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += k.Value(i, xs[i], ts[i]);
            output = ScalarLoss(reduction, sum, n);
        }
        return Tensor.Record(output, op, [input, target], g =>
        {
            var gs = g.Storage;
            bool each = reduction == Reduction.None;
            double c = each ? 0 : reduction == Reduction.Mean ? gs[0] / (double)n : gs[0];
            Tensor? gx = null, gt = null;
            if (input.RequiresGrad)
            {
                gx = new Tensor((int[])input.Dims.Clone(), clear: false);
                var d = gx.Storage;
                for (int i = 0; i < n; i++) d[i] = (float)((each ? gs[i] : c) * k.DInput(i, xs[i], ts[i]));
            }
            if (target.RequiresGrad)
            {
                gt = new Tensor((int[])target.Dims.Clone(), clear: false);
                var d = gt.Storage;
                for (int i = 0; i < n; i++) d[i] = (float)((each ? gs[i] : c) * k.DTarget(i, xs[i], ts[i]));
            }
            return [gx, gt];
        });
    }

    /// <summary>sign(d) with sign(0) = 0 and NaN kept (Math.Sign throws on NaN).</summary>
    static double SignOf(double d) => d > 0 ? 1 : d < 0 ? -1 : d == 0 ? 0 : double.NaN;

    readonly struct L1Kernel : IPointwiseLoss
    {
        public double Value(int i, double x, double y) => Math.Abs(x - y);
        public double DInput(int i, double x, double y) => SignOf(x - y);
        public double DTarget(int i, double x, double y) => -SignOf(x - y);
    }

    readonly struct MseKernel : IPointwiseLoss
    {
        public double Value(int i, double x, double y) => (x - y) * (x - y);
        public double DInput(int i, double x, double y) => 2 * (x - y);
        public double DTarget(int i, double x, double y) => -2 * (x - y);
    }

    readonly struct SmoothL1Kernel(double beta) : IPointwiseLoss
    {
        public double Value(int i, double x, double y)
        {
            double d = Math.Abs(x - y);
            return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
        }

        public double DInput(int i, double x, double y)
        {
            double d = x - y;
            // beta = 0 is the L1 loss, whose gradient at d = 0 is 0 rather than 0 / 0
            return beta == 0 || Math.Abs(d) >= beta ? SignOf(d) : d / beta;
        }

        public double DTarget(int i, double x, double y) => -DInput(i, x, y);
    }

    readonly struct HuberKernel(double delta) : IPointwiseLoss
    {
        public double Value(int i, double x, double y)
        {
            double d = Math.Abs(x - y);
            return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
        }

        public double DInput(int i, double x, double y) => Math.Clamp(x - y, -delta, delta);
        public double DTarget(int i, double x, double y) => -Math.Clamp(x - y, -delta, delta);
    }

    readonly struct BceKernel : IPointwiseLoss
    {
        // PyTorch clamps each log at -100: log(0) would make the loss infinite and 0 * log(0) NaN.
        static double LogClamped(double v) => Math.Max(Math.Log(v), -100);

        public double Value(int i, double x, double y) => -(y * LogClamped(x) + (1 - y) * LogClamped(1 - x));
        public double DInput(int i, double x, double y) => (x - y) / Math.Max((1 - x) * x, 1e-12);
        public double DTarget(int i, double x, double y) => LogClamped(1 - x) - LogClamped(x);
    }

    readonly struct BceLogitsKernel(float[]? posWeight, int c) : IPointwiseLoss
    {
        double ExtraWeight(int i) => posWeight is null ? 0 : posWeight[posWeight.Length == 1 ? 0 : i % c] - 1.0;

        /// <summary>softplus(-x) = -log sigma(x) = max(-x, 0) + log(1 + e^-|x|).</summary>
        static double SoftplusNeg(double x) => Math.Max(-x, 0) + SpecialFunctions.Log1p(Math.Exp(-Math.Abs(x)));

        // With p = 1 + extra: loss = max(x, 0) - x y + log(1 + e^-|x|) + extra y softplus(-x). Written
        // this way (not (1 - y) x + ...) no large terms cancel, so tiny losses keep their digits.
        public double Value(int i, double x, double y)
        {
            double baseLoss = Math.Max(x, 0) - x * y + SpecialFunctions.Log1p(Math.Exp(-Math.Abs(x)));
            double extra = ExtraWeight(i);
            return extra == 0 ? baseLoss : baseLoss + extra * y * SoftplusNeg(x);
        }

        public double DInput(int i, double x, double y)
        {
            double extra = ExtraWeight(i);
            double d = Functional.StableSigmoid(x) - y;
            return extra == 0 ? d : d - extra * y * Functional.StableSigmoid(-x);
        }

        public double DTarget(int i, double x, double y)
        {
            double extra = ExtraWeight(i);
            return extra == 0 ? -x : -x + extra * SoftplusNeg(x);
        }
    }
}
