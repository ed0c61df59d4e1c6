namespace Nabla.Nn;

/// <summary>
/// A trainable tensor of a module: optimizers update it, <see cref="Module.Parameters"/> lists it
/// and the state dict saves it. It always requires a gradient; set <see cref="RequiresGrad"/> to
/// false to freeze it.
/// </summary>
/// <remarks>
/// The parameter's <see cref="Data"/> tensor keeps its identity for the module's lifetime:
/// <see cref="Module.LoadStateDict"/> and initializers write into it in place, so an optimizer built
/// before loading still updates the loaded values.
/// </remarks>
public sealed class Parameter
{
    /// <summary>Wraps <paramref name="data"/> (not copied) as a leaf that requires a gradient.</summary>
    public Parameter(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.IsLeaf)
            throw new ArgumentException(
                "Parameter: expected a leaf tensor; got the result of an operation\nhint: pass tensor.Detach()", nameof(data));
        Data = data;
        data.RequiresGrad = true;
    }

    /// <summary>The values.</summary>
    public Tensor Data { get; }

    /// <summary>The accumulated gradient, or null before the first backward pass or after <see cref="ZeroGrad"/>.</summary>
    public Tensor? Grad
    {
        get => Data.Grad;
        set => Data.Grad = value;
    }

    /// <summary>Whether the parameter is trained; false freezes it.</summary>
    public bool RequiresGrad
    {
        get => Data.RequiresGrad;
        set => Data.RequiresGrad = value;
    }

    /// <summary>The shape of <see cref="Data"/>.</summary>
    public ReadOnlySpan<int> Shape => Data.Shape;

    /// <summary>The number of elements.</summary>
    public int Numel => Data.Numel;

    /// <summary>Clears the gradient in place (keeping its buffer), or drops it with <paramref name="setToNone"/>.</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        if (setToNone) Data.Grad = null;
        else Data.ZeroGradLazily();
    }

    /// <summary>The parameter's tensor, so a parameter can be used wherever a tensor is expected.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(p))]
    public static implicit operator Tensor?(Parameter? p) => p?.Data;

    /// <summary>The parameter's tensor.</summary>
    public Tensor ToTensor() => Data;

    /// <inheritdoc/>
    public override string ToString() => $"Parameter containing:\n{Data}";
}

/// <summary>
/// Non-trainable state of a module that belongs in its state dict, such as batch normalization's
/// running mean. Optimizers never see buffers.
/// </summary>
public sealed class Buffer
{
    /// <summary>Wraps <paramref name="data"/> (not copied).</summary>
    /// <param name="data">The values.</param>
    /// <param name="persistent">Whether the buffer is saved in the state dict.</param>
    public Buffer(Tensor data, bool persistent = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        Data = data.IsLeaf && !data.RequiresGrad ? data : data.Detach();
        Persistent = persistent;
    }

    /// <summary>The values; updated in place by the module that owns them.</summary>
    public Tensor Data { get; }

    /// <summary>Whether <see cref="Module.StateDict"/> includes the buffer.</summary>
    public bool Persistent { get; }

    /// <summary>The buffer's tensor.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(b))]
    public static implicit operator Tensor?(Buffer? b) => b?.Data;

    /// <summary>The buffer's tensor.</summary>
    public Tensor ToTensor() => Data;
}
