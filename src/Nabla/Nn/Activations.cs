namespace Nabla.Nn;

/// <summary>The logistic function 1 / (1 + e^-x) as a layer, <c>nn.Sigmoid</c>. Any shape.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Tensor.Sigmoid(input);
}

/// <summary>The hyperbolic tangent as a layer, <c>nn.Tanh</c>. Any shape.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Tensor.Tanh(input);
}

/// <summary>max(x, 0) as a layer, <c>nn.ReLU</c>. Any shape; the gradient at 0 is 0.</summary>
public sealed class Relu : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Tensor.Relu(input);
}

/// <summary>
/// x for x &gt; 0, else negativeSlope * x, as <c>nn.LeakyReLU</c> (default slope 0.01); see
/// <see cref="Functional.LeakyRelu"/>. Any shape.
/// </summary>
public sealed class LeakyRelu : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="negativeSlope">The slope for negative inputs; must be finite.</param>
    public LeakyRelu(double negativeSlope = 0.01)
    {
        if (!double.IsFinite(negativeSlope))
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, $"LeakyRelu: expected a finite negativeSlope; got {negativeSlope}");
        NegativeSlope = negativeSlope;
    }

    /// <summary>The slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Functional.LeakyRelu(input, NegativeSlope);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"negative_slope={PyFormat.Float(NegativeSlope)}";
}

/// <summary>
/// x for x &gt; 0, else alpha (e^x - 1), as <c>nn.ELU</c> (default alpha 1); see
/// <see cref="Functional.Elu"/>. Any shape.
/// </summary>
public sealed class Elu : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="alpha">The value the output saturates to (as -alpha) for very negative inputs; must be finite.</param>
    public Elu(double alpha = 1)
    {
        if (!double.IsFinite(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"Elu: expected a finite alpha; got {alpha}");
        Alpha = alpha;
    }

    /// <summary>The saturation value for negative inputs.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Functional.Elu(input, Alpha);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"alpha={PyFormat.Float(Alpha)}";
}

/// <summary>
/// The Gaussian error linear unit x Phi(x) as a layer, <c>nn.GELU</c>; approximate is "none" (exact
/// erf form, default) or "tanh". See <see cref="Functional.Gelu"/>. Any shape.
/// </summary>
public sealed class Gelu : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="approximate">"none" or "tanh".</param>
    public Gelu(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh"))
            throw new ArgumentException($"Gelu: expected approximate = \"none\" or \"tanh\"; got \"{approximate}\"", nameof(approximate));
        Approximate = approximate;
    }

    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Functional.Gelu(input, Approximate);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"approximate='{Approximate}'";
}

/// <summary>
/// log(1 + e^(beta x)) / beta, linear above the threshold, as <c>nn.Softplus</c> (defaults beta 1,
/// threshold 20); see <see cref="Functional.Softplus"/>. Any shape.
/// </summary>
public sealed class Softplus : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="beta">Sharpness; non-zero.</param>
    /// <param name="threshold">Above beta x &gt; threshold the output is x.</param>
    public Softplus(double beta = 1, double threshold = 20)
    {
        if (beta == 0 || double.IsNaN(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"Softplus: expected a non-zero beta; got {beta}");
        if (double.IsNaN(threshold))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"Softplus: expected a threshold that is a number; got {threshold}");
        Beta = beta;
        Threshold = threshold;
    }

    /// <summary>Sharpness.</summary>
    public double Beta { get; }

    /// <summary>The value of beta x above which the layer is the identity.</summary>
    public double Threshold { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Functional.Softplus(input, Beta, Threshold);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"beta={PyFormat.Float(Beta)}, threshold={PyFormat.Float(Threshold)}";
}

/// <summary>
/// Softmax along <c>dim</c> as a layer, <c>nn.Softmax</c>: each slice becomes a probability
/// distribution. See <see cref="Functional.Softmax"/>. Any shape with that dimension.
/// </summary>
/// <param name="dim">The dimension to normalize; negative counts from the end.</param>
public sealed class Softmax(int dim) : Module
{
    /// <summary>The dimension normalized.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        DimCheck.Input($"Softmax(dim={Dim})", Dim, input);
        return Functional.Softmax(input, Dim);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>
/// log(softmax(x)) along <c>dim</c> as a layer, <c>nn.LogSoftmax</c>, computed stably; feed it to
/// <c>NllLoss</c> (Nabla.Losses). See <see cref="Functional.LogSoftmax"/>.
/// </summary>
/// <param name="dim">The dimension to normalize; negative counts from the end.</param>
public sealed class LogSoftmax(int dim) : Module
{
    /// <summary>The dimension normalized.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        DimCheck.Input($"LogSoftmax(dim={Dim})", Dim, input);
        return Functional.LogSoftmax(input, Dim);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>The input check of layers that work along one dimension.</summary>
internal static class DimCheck
{
    /// <summary>Throws unless <paramref name="input"/> has dimension <paramref name="dim"/> (a scalar has 0 and -1, as in PyTorch).</summary>
    public static void Input(string layer, int dim, Tensor input)
    {
        int r = Math.Max(input.Rank, 1);
        if (dim < -r || dim >= r)
            throw ShapeException.ForLayer(layer, $"input with at least {(dim >= 0 ? dim + 1 : -dim)} dimensions", input.ShapeString);
    }
}
