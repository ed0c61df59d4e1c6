using Nabla.Nn;
using Buffer = Nabla.Nn.Buffer;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

public class ModuleTests
{
    /// <summary>A custom model: a parameter, a buffer, a non-persistent buffer, a child, and a parameter registered after it.</summary>
    sealed class Net : Module
    {
        public Net(Module classifier)
        {
            Scale = Register("scale", new Parameter(Tensor.Ones(1)));
            Stats = Register("running_mean", new Buffer(Tensor.Zeros(2)));
            Register("scratch", new Buffer(Tensor.Zeros(3), persistent: false));
            Classifier = Register("classifier", classifier);
            Offset = Register("offset", new Parameter(Tensor.Zeros(1)));
        }

        public Parameter Scale { get; }
        public Parameter Offset { get; }
        public Buffer Stats { get; }
        public Module Classifier { get; }

        protected override Tensor ForwardCore(Tensor input) => Classifier.Forward(input);
    }

    /// <summary>A module that lets a test register arbitrary things.</summary>
    sealed class Bag : Module
    {
        public T Add<T>(string name, T m) where T : Module => Register(name, m);
        public Parameter Add(string name, Parameter p) => Register(name, p);
        public Buffer Add(string name, Buffer b) => Register(name, b);
        public void AddNone(string name) => RegisterNone(name);
        protected override Tensor ForwardCore(Tensor input) => input;
    }

    static Sequential Mlp(ulong seed = 1) =>
        new(new Linear(4, 3, generator: new Generator(seed)), new Identity(), new Linear(3, 2, bias: false, generator: new Generator(seed + 1)));

    // ---- registration ----------------------------------------------------------------------

    [Fact]
    public void Register_RejectsDuplicateNames_AcrossParametersBuffersAndChildren()
    {
        var bag = new Bag();
        bag.Add("w", new Parameter(Tensor.Zeros(1)));
        var e = Assert.Throws<ArgumentException>(() => bag.Add("w", new Buffer(Tensor.Zeros(1))));
        Assert.Equal("Register: expected a new name; got \"w\", which Bag already registered (Parameter 'name')", e.Message);
        Assert.Throws<ArgumentException>(() => bag.Add("w", new Identity()));
        Assert.Throws<ArgumentException>(() => bag.AddNone("w"));
        bag.AddNone("bias");
        e = Assert.Throws<ArgumentException>(() => bag.Add("bias", new Parameter(Tensor.Zeros(1))));
        Assert.StartsWith("Register: expected a new name; got \"bias\"", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    public void Register_RejectsEmptyOrDottedNames(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new Bag().Add(name, new Identity()));
        Assert.Equal($"Register: expected a non-empty name without '.'; got \"{name}\" (Parameter 'name')", e.Message);
    }

    [Fact]
    public void Parameter_MustBeALeaf_AndRequiresGrad()
    {
        var x = Tensor.Ones(2).RequireGrad();
        var e = Assert.Throws<ArgumentException>(() => new Parameter(x * 2f));
        Assert.Equal("Parameter: expected a leaf tensor; got the result of an operation\nhint: pass tensor.Detach() (Parameter 'data')", e.Message);
        var p = new Parameter(Tensor.Zeros(3));
        Assert.True(p.RequiresGrad);
        Assert.True(p.Data.RequiresGrad);
    }

    // ---- traversal -------------------------------------------------------------------------

    [Fact]
    public void NamedParametersAndBuffers_DottedNames_InPyTorchOrder()
    {
        var net = new Net(Mlp());
        // Each module's own parameters first (in registration order), then its children's, depth first.
        Assert.Equal(["scale", "offset", "classifier.0.weight", "classifier.0.bias", "classifier.2.weight"],
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(["running_mean", "scratch"], net.NamedBuffers().Select(b => b.Name));
        Assert.Same(net.Scale, net.Parameters().First());
        Assert.Equal(["", "classifier", "classifier.0", "classifier.1", "classifier.2"], net.NamedModules().Select(m => m.Name));
        Assert.Equal(["classifier"], net.NamedChildren().Select(c => c.Name));
        Assert.Same(net.Classifier, net.Children().Single());
    }

    [Fact]
    public void SharedSubmodulesAndParameters_AreListedOnce()
    {
        var shared = new Linear(2, 2, generator: new Generator(1));
        var bag = new Bag();
        bag.Add("a", shared);
        bag.Add("b", shared);
        var p = new Parameter(Tensor.Zeros(3));
        var inner = new Bag();
        inner.Add("tied", p);
        bag.Add("inner", inner);
        bag.Add("tied_too", p);
        // Each under the first name met: the owner's own parameters come before its children's.
        Assert.Equal(["tied_too", "a.weight", "a.bias"], bag.NamedParameters().Select(x => x.Name));
        Assert.Equal(["", "a", "inner"], bag.NamedModules().Select(m => m.Name));
        Assert.Equal(4 + 2 + 3, bag.ParameterCount());
    }

    [Fact]
    public void TrainAndEval_Recurse()
    {
        var net = new Net(new Sequential(new Linear(2, 2), new Sequential(new Identity())));
        Assert.All(net.Modules(), m => Assert.True(m.IsTraining));
        Assert.Same(net, net.Eval());
        Assert.All(net.Modules(), m => Assert.False(m.IsTraining));
        net.Classifier.Train();
        Assert.False(net.IsTraining);
        Assert.All(net.Classifier.Modules(), m => Assert.True(m.IsTraining));
        net.Train(false);
        Assert.All(net.Modules(), m => Assert.False(m.IsTraining));
    }

    [Fact]
    public void Apply_VisitsChildrenBeforeTheirParent()
    {
        var inner = new Sequential(new Identity());
        var seq = new Sequential(new Linear(1, 1), inner, new Flatten());
        var order = new List<string>();
        Assert.Same(seq, seq.Apply(m => order.Add(m == inner ? "inner" : m.GetType().Name)));
        Assert.Equal(["Linear", "Identity", "inner", "Flatten", "Sequential"], order);
    }

    [Fact]
    public void ParameterCount_CountsScalars_AndTrainableOnes()
    {
        var mlp = Mlp();
        Assert.Equal(4 * 3 + 3 + 3 * 2, mlp.ParameterCount());
        ((Linear)mlp[0]).Bias!.RequiresGrad = false;
        Assert.Equal(4 * 3 + 3 * 2, mlp.ParameterCount(trainableOnly: true));
        Assert.Equal(4 * 3 + 3 + 3 * 2, mlp.ParameterCount());
    }

    [Fact]
    public void ZeroGrad_ClearsInPlace_OrDrops()
    {
        var lin = new Linear(2, 1);
        lin.Forward(Tensor.Ones(3, 2)).Sum().Backward();
        var g = lin.Weight.Grad!;
        Assert.NotEqual(0f, g.ToArray()[0]);
        lin.ZeroGrad();
        Assert.Same(g, lin.Weight.Grad);
        Assert.Equal([0f, 0f], g.ToArray());
        lin.ZeroGrad(setToNone: true);
        Assert.Null(lin.Weight.Grad);
        Assert.Null(lin.Bias!.Grad);
    }

    // ---- state dict ------------------------------------------------------------------------

    [Fact]
    public void StateDict_HasPyTorchKeys_InOrder_ParametersThenBuffersThenChildren()
    {
        Assert.Equal(["0.weight", "0.bias", "2.weight"], Mlp().StateDict().Keys);
        var net = new Net(Mlp());
        // The non-persistent buffer is left out, as in PyTorch.
        Assert.Equal(["scale", "offset", "running_mean", "classifier.0.weight", "classifier.0.bias", "classifier.2.weight"],
            net.StateDict().Keys);
    }

    [Fact]
    public void StateDict_SharesStorageWithTheModule()
    {
        var lin = new Linear(2, 2);
        var sd = lin.StateDict();
        Assert.False(sd["weight"].RequiresGrad);
        lin.Weight.Data.Span[0] = 42f;
        Assert.Equal(42f, sd["weight"].ToArray()[0]);
    }

    [Fact]
    public void LoadStateDict_CopiesInPlace_KeepingTheTensorsAnOptimizerHolds()
    {
        var src = Mlp(1);
        var dst = Mlp(7);
        var held = dst.Parameters().Select(p => p.Data).ToList();
        var result = dst.LoadStateDict(src.StateDict());
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(held, dst.Parameters().Select(p => p.Data)); // same objects
        foreach (var (key, t) in src.StateDict()) Assert.Equal(t.ToArray(), dst.StateDict()[key].ToArray());
        // A copy, not an alias: changing the source afterwards leaves the module alone.
        var before = dst.StateDict()["0.weight"].ToArray();
        ((Linear)src[0]).Weight.Data.Span[0] += 1f;
        Assert.Equal(before, dst.StateDict()["0.weight"].ToArray());
    }

    [Fact]
    public void LoadStateDict_LoadsBuffers()
    {
        var net = new Net(Mlp());
        var sd = new Net(Mlp()).StateDict();
        sd["running_mean"].Span.Fill(3f);
        net.LoadStateDict(sd);
        Assert.Equal([3f, 3f], net.Stats.Data.ToArray());
    }

    [Fact]
    public void LoadStateDict_Strict_ReportsEveryProblemInOneException_AndChangesNothing()
    {
        var dst = Mlp(7);
        var before = dst.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var sd = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Zeros(3, 5),  // size mismatch
            ["0.bias"] = Tensor.Ones(3),        // fine, but must not be written either
            ["3.weight"] = Tensor.Zeros(1),     // unexpected
            ["extra"] = Tensor.Zeros(1),        // unexpected
        };                                      // "2.weight" missing
        var e = Assert.Throws<ArgumentException>(() => dst.LoadStateDict(sd));
        Assert.Equal(
            "LoadStateDict: error(s) in loading the state dict for Sequential:\n" +
            "  missing key(s): \"2.weight\"\n" +
            "  unexpected key(s): \"3.weight\", \"extra\"\n" +
            "  size mismatch for 0.weight: copying a param with shape [3, 5] from the state dict, the shape in the current model is [3, 4]" +
            " (Parameter 'stateDict')", e.Message);
        foreach (var (key, t) in dst.StateDict()) Assert.Equal(before[key], t.ToArray());
    }

    [Fact]
    public void LoadStateDict_NonStrict_ReturnsMissingAndUnexpected_ButStillRejectsSizeMismatch()
    {
        var dst = Mlp(7);
        var result = dst.LoadStateDict(new Dictionary<string, Tensor> { ["0.bias"] = Tensor.Full([3], 2f), ["head.weight"] = Tensor.Zeros(1) },
            strict: false);
        Assert.Equal(["0.weight", "2.weight"], result.MissingKeys);
        Assert.Equal(["head.weight"], result.UnexpectedKeys);
        Assert.Equal([2f, 2f, 2f], ((Linear)dst[0]).Bias!.Data.ToArray());

        var e = Assert.Throws<ArgumentException>(() => dst.LoadStateDict(new Dictionary<string, Tensor> { ["0.bias"] = Tensor.Zeros(4) }, strict: false));
        Assert.StartsWith("LoadStateDict: error(s) in loading the state dict for Sequential:\n  size mismatch for 0.bias: copying a param with shape [4]",
            e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("missing", e.Message, StringComparison.Ordinal);
    }

    // ---- printing and errors ---------------------------------------------------------------

    [Fact]
    public void ToString_PrintsTheTreeAsPyTorch()
    {
        Assert.Equal("Linear(in_features=4, out_features=3, bias=True)", new Linear(4, 3).ToString());
        var net = new Net(new Sequential(new Flatten(), new Linear(4, 3), new Identity(), new Linear(3, 2, bias: false)));
        Assert.Equal(
            """
            Net(
              (classifier): Sequential(
                (0): Flatten(start_dim=1, end_dim=-1)
                (1): Linear(in_features=4, out_features=3, bias=True)
                (2): Identity()
                (3): Linear(in_features=3, out_features=2, bias=False)
              )
            )
            """.ReplaceLineEndings("\n"), net.ToString());
    }

    [Fact]
    public void ShapeErrors_CarryTheModulePath()
    {
        var net = new Net(new Sequential(new Linear(4, 3), new Linear(3, 2)));
        var e = Assert.Throws<ShapeException>(() => net.Forward(Tensor.Zeros(2, 5)));
        Assert.Equal("classifier.0: Linear(4, 3) expects input of shape (..., 4); got [2, 5]", e.Message);
        Assert.Equal("classifier.0", e.ModulePath);
        Assert.Equal("Linear(4, 3)", e.Op);

        // Outside a model there is no path.
        e = Assert.Throws<ShapeException>(() => new Linear(4, 3).Forward(Tensor.Zeros(2, 5)));
        Assert.Equal("Linear(4, 3) expects input of shape (..., 4); got [2, 5]", e.Message);
        Assert.Null(e.ModulePath);
    }

    [Fact]
    public void ModuleList_HasNoForward()
    {
        var list = new ModuleList(new Linear(1, 1), new Identity());
        Assert.Equal(["0.weight", "0.bias"], list.StateDict().Keys);
        var e = Assert.Throws<NotSupportedException>(() => list.Forward(Tensor.Zeros(1)));
        Assert.Equal("ModuleList has no Forward: call its modules in the owner's forward, or use Sequential", e.Message);
    }

    // ---- Linear ----------------------------------------------------------------------------

    [Fact]
    public void Linear_DefaultInit_IsWithinOneOverSqrtFanIn()
    {
        var lin = new Linear(100, 50, generator: new Generator(3));
        float bound = 1 / MathF.Sqrt(100);
        var w = lin.Weight.Data.ToArray();
        var b = lin.Bias!.Data.ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.All(b, v => Assert.InRange(v, -bound, bound));
        // ... and fills the range (5000 uniform draws reach within 1% of both ends).
        Assert.True(w.Max() > 0.99f * bound && w.Min() < -0.99f * bound, $"weights span [{w.Min()}, {w.Max()}]");
    }

    [Fact]
    public void Linear_SameGenerator_SameWeights()
    {
        var a = new Linear(5, 4, generator: new Generator(11));
        var b = new Linear(5, 4, generator: new Generator(11));
        var c = new Linear(5, 4, generator: new Generator(12));
        Assert.Equal(a.Weight.Data.ToArray(), b.Weight.Data.ToArray());
        Assert.Equal(a.Bias!.Data.ToArray(), b.Bias!.Data.ToArray());
        Assert.NotEqual(a.Weight.Data.ToArray(), c.Weight.Data.ToArray());
    }

    [Fact]
    public void Linear_ForwardAndBackward_KnownValues()
    {
        var lin = new Linear(2, 3);
        lin.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["weight"] = T([1, 2, 3, 4, 5, 6], 3, 2),
            ["bias"] = T([0.5f, -1, 2]),
        });
        var x = T([1, -1, 2, 0.5f], 2, 2).RequireGrad();
        var y = lin.Forward(x);
        // y = x W^T + b
        Close([-0.5f, -2, 1, 3.5f, 7, 15], y);
        y.Backward(Tensor.Ones(2, 3));
        Close([9, 12, 9, 12], x.Grad!);                  // dX = dY W
        Close([3, -0.5f, 3, -0.5f, 3, -0.5f], lin.Weight.Grad!); // dW = dY^T X
        Close([2, 2, 2], lin.Bias!.Grad!);                // db = column sums of dY
    }

    [Fact]
    public void Linear_BatchedInput_AndGradientCheck()
    {
        var lin = new Linear(3, 2, generator: new Generator(5));
        Shape([4, 5, 2], lin.Forward(Tensor.Zeros(4, 5, 3)));
        GradCheck.Run(xs => lin.Forward(xs[0]), [U(1, -1, 1, 2, 4, 3).RequireGrad()]).Check("Linear module, input");
        GradCheck.Run(xs => Functional.Linear(xs[0], xs[1], xs[2]),
            [U(1, -1, 1, 4, 3).RequireGrad(), U(2, -1, 1, 2, 3).RequireGrad(), U(3, -1, 1, 2).RequireGrad()]).Check("linear, all inputs");
        GradCheck.Run(xs => Functional.Linear(xs[0], xs[1]),
            [U(1, -1, 1, 4, 3).RequireGrad(), U(2, -1, 1, 2, 3).RequireGrad()]).Check("linear, no bias");
    }

    [Fact]
    public void Linear_WithoutBias_HasNoBiasKey()
    {
        var lin = new Linear(3, 2, bias: false);
        Assert.Null(lin.Bias);
        Assert.Equal(["weight"], lin.StateDict().Keys);
        Assert.Equal(6, lin.ParameterCount());
    }

    [Fact]
    public void Linear_RejectsNegativeSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Linear(-1, 3));
        Assert.Equal("Linear: expected non-negative feature counts; got in_features = -1, out_features = 3", e.Message);
    }
}
