using System.Globalization;
using System.Text;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Tests.ConformanceTests;

/// <summary>
/// Runs one conformance case through Nabla and compares in float64 with
/// |actual - expected| &lt;= atol + rtol |expected|, reporting every failing check of the case with
/// its worst element.
/// </summary>
/// <remarks>
/// Forward ops: inputs whose gradient the case checks become leaves that require grad; the output
/// is compared, then <c>output.Backward(grad_output)</c> (seed 1 for a scalar output) gives the
/// gradient of sum(output * grad_output) for each <c>grad.ROLE</c>; an <c>ROLE.after</c> entry
/// compares that input after the call (batch norm's running statistics, updated in place).
/// Optimizers: the parameter gets gradient k, takes a step, and is compared with
/// <c>param.after[k]</c>.
/// </remarks>
internal static class ConformanceRunner
{
    public const double Rtol = 1e-4;
    public const double ForwardAtol = 1e-5;
    public const double GradAtol = 1e-4;

    /// <summary>Runs <paramref name="c"/>; throws <see cref="ConformanceFailureException"/> listing everything that did not match.</summary>
    public static void Run(ConformanceCase c, Ops? table = null)
    {
        table ??= Ops.Table;
        var file = ConformanceSuite.Tensors(c.TensorsPath);
        var failures = new List<string>();
        if (table.TryGetOptimizer(c.Op, out var make)) RunOptimizer(c, file, make, failures);
        else if (table.TryGetOp(c.Op, out var forward)) RunForward(c, file, forward, failures);
        else failures.Add($"no Nabla implementation registered for op '{c.Op}' " +
                          "(hint: register it in tests/Nabla.Tests/Conformance/Ops.<Family>.cs)");
        if (failures.Count > 0)
            throw new ConformanceFailureException($"conformance case '{c.Id}' (op '{c.Op}', manifest '{c.ManifestPath}'):\n  " +
                                         string.Join("\n  ", failures));
    }

    static void RunForward(ConformanceCase c, SafeTensorsFile file, Ops.Forward forward, List<string> failures)
    {
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (role, key) in c.Inputs)
        {
            var t = Read(c, file, key);
            if (c.Expected.ContainsKey("grad." + role)) t.RequireGrad();
            inputs[role] = t;
        }
        var lists = c.InputLists.ToDictionary(kv => kv.Key, kv => kv.Value.Select(k => Read(c, file, k)).ToArray(), StringComparer.Ordinal);
        var args = new CaseArgs(c, inputs, lists);

        var output = forward(args);
        CheckAllRead(c, args, failures);
        if (failures.Count > 0) return;

        foreach (var key in c.Expected.Keys.Concat(c.ExpectedLists.Keys))
            if (!(key == "output" || key.StartsWith("grad.", StringComparison.Ordinal) && inputs.ContainsKey(key[5..])
                  || key.EndsWith(".after", StringComparison.Ordinal) && inputs.ContainsKey(key[..^6])))
                failures.Add($"the harness does not know what to check for expected '{key}'");

        if (c.Expected.TryGetValue("output", out var outKey))
            Compare("output", output, file, outKey, ForwardAtol, failures);

        var grads = c.Expected.Where(kv => kv.Key.StartsWith("grad.", StringComparison.Ordinal) && inputs.ContainsKey(kv.Key[5..])).ToList();
        if (grads.Count > 0 && Backward(c, file, output, failures))
            foreach (var (key, expectedKey) in grads)
            {
                var leaf = inputs[key[5..]];
                if (leaf.Grad is null) failures.Add($"{key}: no gradient reached input '{key[5..]}'");
                else Compare(key, leaf.Grad, file, expectedKey, GradAtol, failures);
            }

        // In-place updates (running statistics) are compared after backward, so a backward pass that
        // wrongly touched them fails too.
        foreach (var (key, expectedKey) in c.Expected)
            if (key.EndsWith(".after", StringComparison.Ordinal) && inputs.TryGetValue(key[..^6], out var updated))
                Compare(key, updated, file, expectedKey, ForwardAtol, failures);
    }

    static bool Backward(ConformanceCase c, SafeTensorsFile file, Tensor output, List<string> failures)
    {
        if (!output.RequiresGrad)
        {
            failures.Add("the output does not require grad, so no gradient can be checked (did the op record its backward?)");
            return false;
        }
        if (c.GradOutput is not null)
        {
            var g = Read(c, file, c.GradOutput);
            if (!g.Shape.SequenceEqual(output.Shape))
            {
                failures.Add($"grad_output has shape {g.ShapeString} but the output has shape {output.ShapeString}");
                return false;
            }
            output.Backward(g);
        }
        else if (output.Numel == 1) output.Backward();
        else
        {
            failures.Add($"the case has no grad_output but the output has shape {output.ShapeString}, not a scalar");
            return false;
        }
        return true;
    }

    static void RunOptimizer(ConformanceCase c, SafeTensorsFile file, Ops.OptimizerStep make, List<string> failures)
    {
        if (!c.Inputs.TryGetValue("param", out var paramKey) || !c.InputLists.TryGetValue("grads", out var gradKeys)
            || !c.ExpectedLists.TryGetValue("param.after", out var afterKeys))
        {
            failures.Add("an optimizer case needs inputs.param, inputs.grads (a list) and expected.param.after (a list)");
            return;
        }
        if (gradKeys.Length != afterKeys.Length)
        {
            failures.Add($"inputs.grads has {gradKeys.Length} entries but expected.param.after has {afterKeys.Length}");
            return;
        }
        var param = new Parameter(Read(c, file, paramKey));
        var grads = gradKeys.Select(k => Read(c, file, k)).ToArray();
        var args = new CaseArgs(c, new Dictionary<string, Tensor> { ["param"] = param.Data },
            new Dictionary<string, Tensor[]> { ["grads"] = grads });
        var step = make(args, param);
        args.In("param"); // the runner hands the parameter over and feeds the gradients
        args.InList("grads");
        CheckAllRead(c, args, failures);
        if (failures.Count > 0) return;
        for (int k = 0; k < grads.Length; k++)
        {
            param.Grad = grads[k].Clone();
            step();
            int before = failures.Count;
            Compare($"param.after[{k}] (after step {k + 1})", param.Data, file, afterKeys[k], ForwardAtol, failures);
            if (failures.Count > before)
            {
                if (k + 1 < grads.Length) failures.Add($"(later steps not compared: they start from a wrong parameter)");
                return;
            }
        }
    }

    static void CheckAllRead(ConformanceCase c, CaseArgs args, List<string> failures)
    {
        var inputs = args.UnreadInputs().ToList();
        var attrs = args.UnreadAttrs().ToList();
        if (inputs.Count > 0)
            failures.Add($"the registration for op '{c.Op}' never read input(s) {string.Join(", ", inputs.Select(i => $"'{i}'"))}");
        if (attrs.Count > 0)
            failures.Add($"the registration for op '{c.Op}' never read attr(s) {string.Join(", ", attrs.Select(i => $"'{i}'"))} " +
                         "(read each, or check it with a.Expect(name, value), so no case runs with a setting ignored)");
    }

    static Tensor Read(ConformanceCase c, SafeTensorsFile file, string key)
    {
        if (!file.Contains(key))
            throw new ConformanceSetupException($"conformance case '{c.Id}': tensor '{key}' is not in '{c.TensorsPath}'");
        return file.ReadTensor(key);
    }

    static void Compare(string what, Tensor actual, SafeTensorsFile file, string expectedKey, double atol, List<string> failures)
    {
        var message = CompareValues(what, actual.Data, actual.Shape, file.ReadDouble(expectedKey), file.Shape(expectedKey), atol, Rtol);
        if (message is not null) failures.Add(message);
    }

    /// <summary>
    /// Null when every element satisfies |a - e| &lt;= atol + rtol |e| (NaN matches NaN, infinities
    /// must be equal); otherwise a message with the number of failing elements and the worst one.
    /// </summary>
    public static string? CompareValues(string what, ReadOnlySpan<float> actual, ReadOnlySpan<int> actualShape,
        double[] expected, ReadOnlySpan<int> expectedShape, double atol, double rtol)
    {
        if (!actualShape.SequenceEqual(expectedShape))
            return $"{what}: expected shape {ShapeException.Str(expectedShape)}; got {ShapeException.Str(actualShape)}";
        int bad = 0, worst = -1;
        double worstExcess = double.NegativeInfinity;
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], e = expected[i];
            double excess;
            if (double.IsNaN(e) || double.IsInfinity(e)) excess = a.Equals(e) ? double.NegativeInfinity : double.PositiveInfinity;
            else if (double.IsNaN(a) || double.IsInfinity(a)) excess = double.PositiveInfinity;
            else excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (excess > 0)
            {
                bad++;
                if (excess > worstExcess || worst < 0) { worstExcess = excess; worst = i; }
            }
        }
        if (bad == 0) return null;
        double wa = actual[worst], we = expected[worst];
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"{what}: {bad} of {expected.Length} elements outside |actual - expected| <= {atol:G} + {rtol:G} * |expected|; ");
        sb.Append(CultureInfo.InvariantCulture,
            $"worst at {IndexString(worst, expectedShape)}: actual {wa:G9}, expected {we:G17}, |diff| {Math.Abs(wa - we):G3} > allowed {atol + rtol * Math.Abs(we):G3}");
        return sb.ToString();
    }

    /// <summary>The multi-index of flat position <paramref name="flat"/>, written <c>[1, 0, 2]</c>.</summary>
    public static string IndexString(int flat, ReadOnlySpan<int> shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return ShapeException.Str(idx);
    }
}

/// <summary>A conformance case whose results differ from the reference.</summary>
public sealed class ConformanceFailureException(string message) : Exception(message);
