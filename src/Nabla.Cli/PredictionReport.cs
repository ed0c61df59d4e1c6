using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary>
/// How good a set of predicted class probabilities is on labelled images: accuracy, negative
/// log-likelihood, expected calibration error (15 bins), Brier score, and the mean predictive
/// entropy over all, correctly classified and misclassified images — a useful uncertainty is
/// higher on the mistakes.
/// </summary>
internal sealed record PredictionReport(double Accuracy, double Nll, double Ece, double Brier,
                                        double MeanEntropy, double MeanEntropyCorrect, double MeanEntropyMisclassified)
{
    public double Error => 1 - Accuracy;

    public static PredictionReport Of(Tensor probs, Tensor targets)
    {
        var p = probs.ToArray();
        var t = targets.ToArray();
        int n = t.Length, c = p.Length / Math.Max(n, 1);
        var entropy = Calibration.Entropy(probs);
        long correct = 0;
        double hRight = 0, hWrong = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int k = 1; k < c; k++) if (p[i * c + k] > p[i * c + best]) best = k;
            if (best == (int)t[i]) { correct++; hRight += entropy[i]; }
            else hWrong += entropy[i];
        }
        long wrong = n - correct;
        return new PredictionReport((double)correct / n, Calibration.NegativeLogLikelihood(probs, targets),
            Calibration.ExpectedCalibrationError(probs, targets), Calibration.BrierScore(probs, targets),
            entropy.Average(), correct == 0 ? double.NaN : hRight / correct, wrong == 0 ? double.NaN : hWrong / wrong);
    }

    public JsonObject ToJson() => new()
    {
        ["accuracy"] = Accuracy,
        ["error"] = Error,
        ["nll"] = Nll,
        ["ece"] = Ece,
        ["brier"] = Brier,
        ["mean_entropy"] = MeanEntropy,
        ["mean_entropy_correct"] = Num(MeanEntropyCorrect),
        ["mean_entropy_misclassified"] = Num(MeanEntropyMisclassified),
    };

    static JsonNode? Num(double v) => double.IsNaN(v) ? null : v;

    public string[] Cells(string name) =>
        [name, Pct(Accuracy), Pct(Error), F(Nll), F(Ece), F(Brier), F(MeanEntropy)];

    public static readonly string[] Columns = ["predictor", "accuracy", "error", "NLL", "ECE", "Brier", "mean entropy"];

    static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";

    static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
