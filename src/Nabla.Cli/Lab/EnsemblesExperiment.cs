using Nabla.Data;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Test error against ensemble size, for members that differ by seed and for bagged members, with the members' error correlation measured.</summary>
internal sealed class EnsemblesExperiment : LabExperiment
{
    public override string Name => "ensembles";

    public override string Claim =>
        "An ensemble beats its members; if the members' errors were uncorrelated, the expected error would fall as 1/k with k members.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(1, 5, 10), k = lab.Pick(3, 8, 10);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));
        var results = new Dictionary<string, Growth>();
        foreach (var kind in new[] { "seeds", "bagging" })
        {
            var probs = new List<Tensor>();
            for (int m = 0; m < k; m++)
            {
                IDataset data = kind == "bagging" ? Dataset.Bootstrap(train, lab.Gen(50 + (ulong)m)) : train;
                var model = LabNets.Mlp([256, 256], "relu", lab.Gen(10 + (ulong)m), dropout: 0.2);
                lab.Fit(model, new AdamW(ParamGroup.SplitByRank(model, 0.01), lr: 1e-3, weightDecay: 0.01), data, test, epochs, shuffleStream: 30 + (ulong)m, testEachEpoch: false);
                probs.Add(LabContext.Softmax(LabContext.Logits(model, test.Inputs)));
            }
            results[kind] = Measure(probs, test.Targets);
            lab.Log($"{kind}: member error {Pct(results[kind].MemberError.Average())}, ensemble of {k} {Pct(results[kind].EnsembleError[^1])}, error correlation {F(results[kind].Correlation, 3)}");
        }

        double[] ks = [.. Enumerable.Range(1, k).Select(i => (double)i)];
        var seeds = results["seeds"];
        var curves = new List<Series>
        {
            new("members differing by seed", ks, [.. results["seeds"].EnsembleError.Select(e => 100 * e)]),
            new("bagged members", ks, [.. results["bagging"].EnsembleError.Select(e => 100 * e)]),
            new("if errors were uncorrelated: mean member error / k", ks, [.. ks.Select(i => 100 * seeds.MemberError.Average() / i)], Dashed: true),
        };
        var sq = new List<Series>
        {
            new("measured (seeds)", ks, seeds.SquaredError),
            new($"v(ρ + (1 − ρ)/k), ρ = {F(seeds.SquaredCorrelation, 2)}", ks, [.. ks.Select(i => seeds.SquaredVariance * (seeds.SquaredCorrelation + (1 - seeds.SquaredCorrelation) / i))], Dashed: true),
            new("v / k (uncorrelated)", ks, [.. ks.Select(i => seeds.SquaredVariance / i)], Dashed: true),
        };
        LabPlots.Save([
            LabPlots.Lines("test error of the ensemble of the first k members", "members k", "test error (%)", curves),
            LabPlots.Lines("squared error of the averaged probabilities", "members k", "E‖p̄ − y‖²", sq),
        ], report.File("ensembles.png"), columns: 2);

        report.Setup($"""
            {k} members per ensemble, each an MLP (784-256-256-10, ReLU, dropout 0.2) trained with AdamW (learning rate 1e-3,
            weight decay 0.01, batch 128) for {epochs} epochs on {n:N0} standardized training images; {test.Count:N0} test images.
            "Seeds": members differ by initialization and shuffling. "Bagging": each also trains on its own bootstrap resample.
            The ensemble averages the members' probabilities. The error correlation ρ is the mean over pairs of members of the
            correlation of their 0/1 error indicators on the test images; for the squared error the members' error vectors
            e = p − y give the mean variance v = E‖e‖² and the mean pairwise E[e_i·e_j] = ρv, so the ensemble of k has
            E‖ē‖² = v(ρ + (1 − ρ)/k) — the 1/k of the lecture only when ρ = 0.
            """);
        report.Figure("ensembles.png", "Ensemble error against size, against the 1/k of uncorrelated errors");
        report.Table(["members", "mean member error", $"ensemble of {k}", "best member", "error correlation ρ (0/1)", "squared-error correlation"],
            results.Select(r => new[]
            {
                r.Key, Pct(r.Value.MemberError.Average(), 2), Pct(r.Value.EnsembleError[^1], 2), Pct(r.Value.MemberError.Min(), 2),
                F(r.Value.Correlation, 3), F(r.Value.SquaredCorrelation, 3),
            }));
        foreach (var (kind, g) in results)
        {
            report.Number($"{kind}_mean_member_error", g.MemberError.Average());
            report.Number($"{kind}_ensemble_error", g.EnsembleError[^1]);
            report.Number($"{kind}_error_correlation", g.Correlation);
        }
        bool beats = results.Values.All(g => g.EnsembleError[^1] < g.MemberError.Average() && g.EnsembleError[^1] <= g.MemberError.Min());
        report.Verdict("An ensemble beats its members", beats,
            $"ensemble of {k}: {Pct(seeds.EnsembleError[^1], 2)} (seeds) and {Pct(results["bagging"].EnsembleError[^1], 2)} (bagging) test error, against " +
            $"{Pct(seeds.MemberError.Average(), 2)} and {Pct(results["bagging"].MemberError.Average(), 2)} for the average member.");
        double ratio = seeds.EnsembleError[^1] / seeds.MemberError.Average();
        report.Verdict($"The error falls as 1/k only if the errors are uncorrelated: these members' are correlated, and it falls far less", seeds.Correlation > 0.2 && ratio > 2.0 / k,
            $"error correlation ρ = {F(seeds.Correlation, 2)}; the ensemble of {k} keeps {Pct(ratio, 0)} of the member error, where 1/k would keep {Pct(1.0 / k, 0)}; " +
            $"the squared error follows v(ρ + (1 − ρ)/k) with ρ = {F(seeds.SquaredCorrelation, 2)}.");
    }

    sealed record Growth(double[] MemberError, double[] EnsembleError, double Correlation, double[] SquaredError, double SquaredVariance, double SquaredCorrelation);

    static Growth Measure(List<Tensor> probs, Tensor targets)
    {
        var y = targets.ToArray();
        int n = y.Length, c = probs[0].Shape[1], k = probs.Count;
        var p = probs.Select(t => t.ToArray()).ToArray();
        var wrong = p.Select(pm => Enumerable.Range(0, n).Select(i => ArgMax(pm, i, c) != (int)y[i] ? 1.0 : 0.0).ToArray()).ToArray();
        double[] memberError = [.. wrong.Select(w => w.Average())];
        var ensembleError = new double[k];
        var squared = new double[k];
        var sum = new double[n * c];
        for (int m = 0; m < k; m++)
        {
            for (int j = 0; j < sum.Length; j++) sum[j] += p[m][j];
            int errors = 0;
            double sq = 0;
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int j = 1; j < c; j++) if (sum[i * c + j] > sum[i * c + best]) best = j;
                if (best != (int)y[i]) errors++;
                for (int j = 0; j < c; j++)
                {
                    double e = sum[i * c + j] / (m + 1) - (j == (int)y[i] ? 1 : 0);
                    sq += e * e;
                }
            }
            ensembleError[m] = (double)errors / n;
            squared[m] = sq / n;
        }
        // Pairwise correlations of the 0/1 errors, and the mean variance and covariance of the error vectors p − y.
        double corr = 0, variance = 0, covariance = 0;
        int pairs = 0;
        for (int a = 0; a < k; a++)
        {
            variance += Dot(p[a], p[a], y, c) / n;
            for (int b = a + 1; b < k; b++)
            {
                corr += Pearson(wrong[a], wrong[b]);
                covariance += Dot(p[a], p[b], y, c) / n;
                pairs++;
            }
        }
        variance /= k;
        return new Growth(memberError, ensembleError, pairs == 0 ? double.NaN : corr / pairs, squared, variance, pairs == 0 ? double.NaN : covariance / pairs / variance);
    }

    static int ArgMax(float[] p, int row, int c)
    {
        int best = 0;
        for (int j = 1; j < c; j++) if (p[row * c + j] > p[row * c + best]) best = j;
        return best;
    }

    static double Dot(float[] a, float[] b, float[] y, int c)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++)
            for (int j = 0; j < c; j++)
            {
                double t = j == (int)y[i] ? 1 : 0;
                s += (a[i * c + j] - t) * (b[i * c + j] - t);
            }
        return s;
    }

    static double Pearson(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return saa > 0 && sbb > 0 ? sab / Math.Sqrt(saa * sbb) : double.NaN;
    }
}
