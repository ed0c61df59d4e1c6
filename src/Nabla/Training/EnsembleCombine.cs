namespace Nabla.Training;

/// <summary>How <see cref="Ensemble.Combine"/> merges the members' logits.</summary>
public enum EnsembleCombine
{
    /// <summary>
    /// Average the members' probabilities, (1/M) Σ_m softmax(z_m): the mixture of the members'
    /// predictive distributions (Lakshminarayanan et al. 2017), the better calibrated choice.
    /// </summary>
    Probabilities,

    /// <summary>
    /// Average the logits, then softmax: softmax((1/M) Σ_m z_m), a normalized geometric mean of the
    /// members' probabilities. Sharper than <see cref="Probabilities"/>, and what averaging the
    /// weights of one network would approximate.
    /// </summary>
    Logits,
}
