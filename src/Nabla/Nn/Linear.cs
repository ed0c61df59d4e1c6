namespace Nabla.Nn;

/// <summary>
/// A fully connected layer, y = x W^T + b, as <c>nn.Linear</c>. Weight (out_features,
/// in_features), bias (out_features); input (..., in_features), output (..., out_features).
/// </summary>
/// <remarks>
/// PyTorch's default initialization: W and b uniform on [-1/sqrt(in), 1/sqrt(in)] (for W this is
/// <c>kaiming_uniform_(a = sqrt(5))</c>). Pass another <see cref="Init"/> (say
/// <c>Init.KaimingNormal(nonlinearity: Nonlinearity.Relu)</c>) to change the weight's.
/// </remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of each input sample.</param>
    /// <param name="outFeatures">Size of each output sample.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="init">The weight's initializer; null for PyTorch's default.</param>
    /// <param name="generator">The random generator; null for <see cref="Generator.Default"/>.</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Init? init = null, Generator? generator = null)
    {
        if (inFeatures < 0 || outFeatures < 0)
            throw new ArgumentException($"Linear: expected non-negative feature counts; got in_features = {inFeatures}, out_features = {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = Register("weight", new Parameter(Tensor.Zeros(outFeatures, inFeatures)));
        (init ?? Init.KaimingUniform(a: Math.Sqrt(5))).Fill(Weight, generator);
        if (bias)
        {
            Bias = Register("bias", new Parameter(Tensor.Zeros(outFeatures)));
            double bound = inFeatures > 0 ? 1 / Math.Sqrt(inFeatures) : 0;
            Init.Uniform(-bound, bound).Fill(Bias, generator);
        }
        else RegisterNone("bias");
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, (out_features, in_features).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, (out_features), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => ForwardCore(input, Fusion.None);

    /// <summary>The layer, or relu(layer(input)) as one fused operation when a container asks for <see cref="Fusion.Relu"/>.</summary>
    private protected override Tensor ForwardCore(Tensor input, Fusion fusion)
    {
        if (fusion is not (Fusion.None or Fusion.Relu)) return base.ForwardCore(input, fusion);
        if (input.Rank == 0 || input.Shape[^1] != InFeatures)
            throw ShapeException.ForLayer($"Linear({InFeatures}, {OutFeatures})", $"input of shape (..., {InFeatures})",
                input.ShapeString);
        return fusion == Fusion.Relu ? Functional.LinearRelu(input, Weight, Bias) : Functional.Linear(input, Weight, Bias);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is not null ? "True" : "False")}";
}
