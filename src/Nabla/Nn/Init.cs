namespace Nabla.Nn;

/// <summary>Which fan a Kaiming initializer preserves: the forward pass's (fan-in) or the backward pass's (fan-out).</summary>
public enum FanMode
{
    /// <summary>Inputs per output unit: keeps the variance of activations in the forward pass.</summary>
    FanIn,

    /// <summary>Outputs per input unit: keeps the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>The non-linearity that follows a layer, for <see cref="Init.Gain"/>.</summary>
public enum Nonlinearity
{
    /// <summary>No non-linearity (and convolutions): gain 1.</summary>
    Linear,

    /// <summary>Sigmoid: gain 1.</summary>
    Sigmoid,

    /// <summary>Tanh: gain 5/3.</summary>
    Tanh,

    /// <summary>ReLU: gain sqrt(2), because ReLU zeroes half the inputs and so halves the variance.</summary>
    Relu,

    /// <summary>Leaky ReLU with slope a: gain sqrt(2 / (1 + a^2)).</summary>
    LeakyRelu,
}

/// <summary>
/// A weight initialization rule, as a value: <c>Init.KaimingUniform()</c>, <c>Init.XavierNormal()</c>.
/// <c>Fill</c> writes it into a tensor in place. Each rule follows the formula of
/// <c>torch.nn.init</c> cited beside it, so a layer initialized here has PyTorch's distribution.
/// </summary>
/// <remarks>
/// Why the scale matters: a layer with fan-in n sums n products, so with unit-variance weights the
/// output's variance grows n-fold per layer and activations explode (or, with too small weights,
/// vanish) with depth. Xavier/Glorot picks Var(w) = 2 / (fan_in + fan_out), which keeps the variance
/// of both activations and gradients about constant for symmetric activations such as tanh;
/// Kaiming/He picks Var(w) = 2 / fan_in for ReLU, whose output keeps only half the variance.
/// For a weight of shape (out, in, k1, k2, ...), fan_in = in * k1 * k2 * ... and
/// fan_out = out * k1 * k2 * ....
/// </remarks>
public abstract class Init
{
    /// <summary>Writes values drawn by this rule into <paramref name="tensor"/>, in place.</summary>
    public void Fill(Tensor tensor, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        FillCore(tensor, generator ?? Generator.Default);
    }

    /// <summary>Writes values drawn by this rule into the parameter, in place.</summary>
    public void Fill(Parameter parameter, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        Fill(parameter.Data, generator);
    }

    private protected abstract void FillCore(Tensor tensor, Generator generator);

    /// <summary>
    /// The recommended gain for a non-linearity, as <c>torch.nn.init.calculate_gain</c>: 1 for
    /// linear and sigmoid, 5/3 for tanh, sqrt(2) for ReLU, sqrt(2 / (1 + a^2)) for leaky ReLU.
    /// </summary>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Gain: unknown non-linearity"),
    };

    /// <summary>fan_in and fan_out of a weight shaped (out, in, k...), as PyTorch computes them.</summary>
    public static (int FanIn, int FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2)
            throw new ShapeException("Init", "a tensor with at least 2 dimensions to compute fan in and fan out",
                $"shape {ShapeException.Str(shape)}");
        int receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static Init Constant(double value) => new Rule($"Constant({value})", (t, _) => t.Span.Fill((float)value));

    /// <summary>Zeros.</summary>
    public static Init Zeros() => Constant(0);

    /// <summary>Ones.</summary>
    public static Init Ones() => Constant(1);

    /// <summary>Uniform on [low, high).</summary>
    public static Init Uniform(double low = 0, double high = 1)
    {
        if (!(low <= high))
            throw new ArgumentException($"Init.Uniform: expected low <= high; got low = {low}, high = {high}");
        return new Rule($"Uniform({low}, {high})", (t, g) => FillUniform(t, g, low, high));
    }

    /// <summary>Normal with the given mean and standard deviation.</summary>
    public static Init Normal(double mean = 0, double std = 1)
    {
        if (!(std >= 0))
            throw new ArgumentException($"Init.Normal: expected std >= 0; got {std}", nameof(std));
        return new Rule($"Normal({mean}, {std})", (t, g) => FillNormal(t, g, mean, std));
    }

    /// <summary>Xavier/Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).</summary>
    public static Init XavierUniform(double gain = 1) => new Rule($"XavierUniform(gain: {gain})", (t, g) =>
    {
        var (fi, fo) = Fans(t.Shape);
        double a = gain * Math.Sqrt(6.0 / (fi + fo));
        FillUniform(t, g, -a, a);
    });

    /// <summary>Xavier/Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).</summary>
    public static Init XavierNormal(double gain = 1) => new Rule($"XavierNormal(gain: {gain})", (t, g) =>
    {
        var (fi, fo) = Fans(t.Shape);
        FillNormal(t, g, 0, gain * Math.Sqrt(2.0 / (fi + fo)));
    });

    /// <summary>
    /// Kaiming/He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain from <paramref name="nonlinearity"/>
    /// and <paramref name="a"/> (the leaky ReLU slope), as <c>kaiming_uniform_(a, mode, nonlinearity)</c>.
    /// </summary>
    public static Init KaimingUniform(double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        new Rule($"KaimingUniform(a: {a}, mode: {mode}, nonlinearity: {nonlinearity})", (t, g) =>
        {
            double b = Gain(nonlinearity, a) * Math.Sqrt(3.0 / Fan(t, mode));
            FillUniform(t, g, -b, b);
        });

    /// <summary>Kaiming/He normal: N(0, std^2) with std = gain / sqrt(fan), as <c>kaiming_normal_</c>.</summary>
    public static Init KaimingNormal(double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        new Rule($"KaimingNormal(a: {a}, mode: {mode}, nonlinearity: {nonlinearity})", (t, g) =>
            FillNormal(t, g, 0, Gain(nonlinearity, a) / Math.Sqrt(Fan(t, mode))));

    /// <summary>LeCun uniform: U(-b, b) with b = sqrt(3 / fan_in), variance 1 / fan_in (for SELU-style networks).</summary>
    public static Init LecunUniform() => new Rule("LecunUniform()", (t, g) =>
    {
        double b = Math.Sqrt(3.0 / Fans(t.Shape).FanIn);
        FillUniform(t, g, -b, b);
    });

    /// <summary>LeCun normal: N(0, 1 / fan_in).</summary>
    public static Init LecunNormal() => new Rule("LecunNormal()", (t, g) => FillNormal(t, g, 0, Math.Sqrt(1.0 / Fans(t.Shape).FanIn)));

    /// <summary>
    /// A (semi-)orthogonal matrix scaled by <paramref name="gain"/>, as <c>orthogonal_</c>: the weight
    /// flattened to (rows, cols) gets orthonormal rows or columns, from the QR decomposition of a
    /// standard normal matrix with the signs of R's diagonal folded into Q (so the result is uniform
    /// over orthogonal matrices).
    /// </summary>
    public static Init Orthogonal(double gain = 1) => new Rule($"Orthogonal(gain: {gain})", (t, g) => FillOrthogonal(t, g, gain));

    static int Fan(Tensor t, FanMode mode)
    {
        var (fi, fo) = Fans(t.Shape);
        return mode == FanMode.FanIn ? fi : fo;
    }

    internal static void FillUniform(Tensor t, Generator g, double low, double high)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(low + (high - low) * g.NextDouble());
    }

    internal static void FillNormal(Tensor t, Generator g, double mean, double std)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(mean + std * g.NextNormal());
    }

    static void FillOrthogonal(Tensor t, Generator g, double gain)
    {
        if (t.Rank < 2)
            throw new ShapeException("Init.Orthogonal", "a tensor with at least 2 dimensions", $"shape {t.ShapeString}");
        // An empty tensor has nothing to fill (and its row count may be 0), as PyTorch's early return.
        if (t.Numel == 0) return;
        int rows = t.Shape[0], cols = t.Numel / rows;
        // Work on the tall orientation (n >= m) and transpose back, as PyTorch does.
        bool transpose = rows < cols;
        int n = transpose ? cols : rows, m = transpose ? rows : cols;
        var a = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) a[i, j] = g.NextNormal();
        // Modified Gram-Schmidt: Q (n x m) with orthonormal columns, R's diagonal = the norms.
        for (int j = 0; j < m; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += a[i, k] * a[i, j];
                for (int i = 0; i < n; i++) a[i, j] -= dot * a[i, k];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += a[i, j] * a[i, j];
            norm = Math.Sqrt(norm);
            // Gram-Schmidt's R has a positive diagonal, which is the sign correction PyTorch applies.
            for (int i = 0; i < n; i++) a[i, j] /= norm;
        }
        var s = t.Span;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                s[r * cols + c] = (float)(gain * (transpose ? a[c, r] : a[r, c]));
    }

    sealed class Rule(string name, Action<Tensor, Generator> fill) : Init
    {
        private protected override void FillCore(Tensor tensor, Generator generator) => fill(tensor, generator);

        public override string ToString() => name;
    }
}
