using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Tests.SerializationTests;
using Nabla.Training;

namespace Nabla.Tests.TrainingTests;

/// <summary>
/// Broken or mismatched checkpoint files: each is rejected with the right exception and a message
/// naming the problem, and the load changes nothing at all.
/// </summary>
public sealed class CheckpointCorruptionTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-ckpt-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A model with optimizer state, a scheduler, a plateau scheduler and a generator, each moved by <paramref name="steps"/> steps.</summary>
    sealed class Run
    {
        public Run(ulong seed, int steps, int inFeatures = 4, bool adam = false)
        {
            Model = new Linear(inFeatures, 3, generator: new Generator(seed));
            Optimizer = adam ? new Adam(Model.Parameters(), lr: 0.01) : new Sgd(Model.Parameters(), lr: 0.1, momentum: 0.9);
            Scheduler = new StepLr(Optimizer, stepSize: 1, gamma: 0.5);
            Plateau = new ReduceLrOnPlateau(Optimizer, patience: 0);
            Generator = new Generator(seed + 100);
            var x = Tensor.Rand([2, inFeatures], new Generator(seed + 200));
            for (int s = 0; s < steps; s++)
            {
                Optimizer.ZeroGrad();
                Model.Forward(x).Sum().Backward();
                Optimizer.Step();
                Scheduler.Step();
                Plateau.Step(1.0 / (s + 1));
                Generator.NextUInt64();
            }
        }

        public Linear Model { get; }
        public Optimizer Optimizer { get; }
        public StepLr Scheduler { get; }
        public ReduceLrOnPlateau Plateau { get; }
        public Generator Generator { get; }

        public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
            Checkpoint.Save(path, Model, Optimizer, [Generator], 1, 2, [Scheduler], Plateau, metadata);

        public CheckpointInfo Load(string path) => Checkpoint.Load(path, Model, Optimizer, [Generator], [Scheduler], Plateau);

        /// <summary>Everything a load could change, as comparable text (bit patterns, exact doubles).</summary>
        public List<string> State()
        {
            var s = new List<string>();
            foreach (var (k, v) in Model.StateDict()) s.Add($"model.{k}={Bits(v)}");
            foreach (var (k, v) in Optimizer.StateDict()) s.Add($"optimizer.{k}={Bits(v)}");
            foreach (var g in Optimizer.ParamGroups)
                foreach (var o in g.OptionNames) s.Add($"{o}={g[o].ToString("R", CultureInfo.InvariantCulture)}");
            foreach (var (k, v) in Scheduler.StateDict()) s.Add($"scheduler.{k}={Bits(v)}");
            foreach (var (k, v) in Plateau.StateDict()) s.Add($"plateau.{k}={Bits(v)}");
            s.Add($"best={Plateau.Best:R}");
            s.Add("generator=" + string.Join(',', Generator.GetState()));
            return s;
        }

        static string Bits(Tensor t) => string.Join(',', t.ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>A valid checkpoint of a run of 3 steps, and a different run (1 step) to load it into.</summary>
    (string Path, byte[] Bytes, Run Target) Valid()
    {
        var path = PathOf("valid.safetensors");
        new Run(1, 3).Save(path);
        return (path, File.ReadAllBytes(path), new Run(2, 1));
    }

    /// <summary>Asserts that loading <paramref name="bytes"/> into <paramref name="target"/> throws <typeparamref name="TException"/> with <paramref name="fragment"/> in its message, and changes nothing.</summary>
    TException Rejects<TException>(byte[] bytes, Run target, string fragment, Func<string, Run, object>? load = null)
        where TException : Exception
    {
        var path = PathOf("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var before = target.State();
        var e = Assert.Throws<TException>(() => (load ?? ((p, t) => t.Load(p)))(path, target));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        if (e is SafeTensorsException s) Assert.Equal(path, s.FileName);
        Assert.Equal(before, target.State());
        return e;
    }

    /// <summary>The checkpoint re-saved with its tensors and metadata changed by <paramref name="edit"/>.</summary>
    byte[] Rewrite(string path, Action<OrderedDictionary<string, Tensor>, Dictionary<string, string>> edit)
    {
        var tensors = SafeTensors.Load(path);
        Dictionary<string, string> meta;
        using (var f = SafeTensorsFile.Open(path)) meta = new(f.Metadata);
        edit(tensors, meta);
        var copy = PathOf("rewritten.safetensors");
        SafeTensors.Save(copy, tensors, meta);
        return File.ReadAllBytes(copy);
    }

    [Fact]
    public void TheValidCheckpoint_DoesChangeTheTarget()
    {
        // Guards the tests below: "nothing changed" means something, since a good load changes everything.
        var (path, _, target) = Valid();
        var before = target.State();
        var info = target.Load(path);
        Assert.Equal(new CheckpointInfo(1, 2), info);
        var after = target.State();
        Assert.Equal(new Run(1, 3).State(), after);
        foreach (var prefix in new[] { "model.weight", "model.bias", "optimizer.state.0.momentum_buffer", "lr=", "scheduler.last_epoch", "plateau.last_epoch", "best=", "generator=" })
        {
            int i = after.FindIndex(s => s.StartsWith(prefix, StringComparison.Ordinal));
            Assert.True(i >= 0, prefix);
            Assert.NotEqual(before[i], after[i]);
        }
    }

    [Theory]
    [InlineData(0, "the file is 0 bytes, too short for the 8-byte header length")]
    [InlineData(4, "the file is 4 bytes, too short for the 8-byte header length")]
    [InlineData(8, "runs past the end of the file (8 bytes; at most 0 available)")]
    public void Truncated_InTheLengthPrefixOrRightAfterIt(int length, string fragment)
    {
        var (_, bytes, target) = Valid();
        Rejects<SafeTensorsException>(bytes[..length], target, fragment);
    }

    [Fact]
    public void Truncated_MidHeader()
    {
        var (_, bytes, target) = Valid();
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        int cut = 8 + (int)n / 2;
        Rejects<SafeTensorsException>(bytes[..cut], target, $"header length {n} runs past the end of the file ({cut} bytes; at most {cut - 8} available)");
    }

    [Fact]
    public void Truncated_MidData()
    {
        var (_, bytes, target) = Valid();
        var (_, data) = SafeTensorsBytes.Split(bytes);
        int cut = bytes.Length - data.Length / 2;
        Rejects<SafeTensorsException>(bytes[..cut], target,
            $"the tensors need {data.Length} bytes of data but the file holds {data.Length - data.Length / 2} after the header (truncated?)");
    }

    [Fact]
    public void OverlappingOffsets()
    {
        var (_, bytes, target) = Valid();
        var (header, data) = SafeTensorsBytes.Split(bytes);
        // Move the tensor that starts where model.weight ends 4 bytes back, onto model.weight's last element.
        var weight = Regex.Match(header, "\"model\\.weight\":\\{[^}]*\"data_offsets\":\\[(\\d+),(\\d+)\\]");
        Assert.True(weight.Success, header);
        string end = weight.Groups[2].Value;
        int e = int.Parse(end, CultureInfo.InvariantCulture);
        var next = Regex.Match(header, $"\"data_offsets\":\\[{end},(\\d+)\\]");
        Assert.True(next.Success, header);
        int nextEnd = int.Parse(next.Groups[1].Value, CultureInfo.InvariantCulture);
        header = header.Replace(next.Value, $"\"data_offsets\":[{e - 4},{nextEnd - 4}]", StringComparison.Ordinal);
        Rejects<SafeTensorsException>(SafeTensorsBytes.Build(header, data[..^4]), target, $"which ends at {e}");
    }

    [Fact]
    public void HugeHeaderLength()
    {
        var (_, bytes, target) = Valid();
        var (header, data) = SafeTensorsBytes.Split(bytes);
        Rejects<SafeTensorsException>(SafeTensorsBytes.Build(header, data, headerLength: 1UL << 62), target,
            $"header length {1UL << 62} exceeds the limit of 100000000 bytes");
    }

    [Fact]
    public void BytesAppended()
    {
        var (_, bytes, target) = Valid();
        Rejects<SafeTensorsException>([.. bytes, 1, 2, 3], target, "3 unexpected bytes after the last tensor's data");
    }

    [Fact]
    public void ModelShapesThatDoNotFit_NameTheKeyAndBothShapes()
    {
        var (path, _, _) = Valid();
        var target = new Run(2, 1, inFeatures: 5);
        var e = Rejects<SafeTensorsException>(File.ReadAllBytes(path), target,
            "the checkpoint does not fit the model (Linear):\n  size mismatch for \"weight\": the checkpoint has shape [3, 4], the model has [3, 5]");
        Assert.DoesNotContain("\"bias\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelKeysMissingOrUnexpected()
    {
        var (path, _, target) = Valid();
        var bytes = Rewrite(path, (t, _) =>
        {
            t.Remove("model.bias");
            t.Add("model.extra", Tensor.Ones(2));
        });
        Rejects<SafeTensorsException>(bytes, target, "the checkpoint does not fit the model (Linear):\n  missing key \"bias\"\n  unexpected key \"extra\"");
    }

    [Fact]
    public void ADifferentOptimizerKind()
    {
        var (path, _, _) = Valid();
        var target = new Run(2, 1, adam: true);
        Rejects<SafeTensorsException>(File.ReadAllBytes(path), target, "the optimizer state does not fit this Adam: Adam.LoadStateDict: error(s) in loading the state dict");
        Rejects<SafeTensorsException>(File.ReadAllBytes(path), target, "Adam keeps no state \"momentum_buffer\"");
    }

    [Fact]
    public void MissingSchedulerState()
    {
        var (path, _, target) = Valid();
        var bytes = Rewrite(path, (t, _) => t.Remove("scheduler.0.last_epoch"));
        Rejects<SafeTensorsException>(bytes, target, "scheduler 0 (StepLr) does not fit the checkpoint: StepLr.LoadStateDict: error(s) in loading the state dict:\n  missing key \"last_epoch\"");

        bytes = Rewrite(path, (t, _) => t.Remove("plateau.num_bad_epochs"));
        Rejects<SafeTensorsException>(bytes, target, "the plateau scheduler does not fit the checkpoint: ReduceLrOnPlateau.LoadStateDict: error(s) in loading the state dict:\n  missing key \"num_bad_epochs\"");
    }

    [Fact]
    public void SchedulerOrPlateauCountThatDoesNotFit()
    {
        var (path, bytes, target) = Valid();
        Rejects<SafeTensorsException>(bytes, target, "the checkpoint holds 1 scheduler states; 0 schedulers were given",
            (p, t) => Checkpoint.Load(p, t.Model, t.Optimizer, [t.Generator], [], t.Plateau));
        Rejects<SafeTensorsException>(bytes, target, "the checkpoint holds a ReduceLrOnPlateau state; no plateau scheduler was given",
            (p, t) => Checkpoint.Load(p, t.Model, t.Optimizer, [t.Generator], [t.Scheduler]));
        var noPlateau = Rewrite(path, (t, m) =>
        {
            foreach (var k in t.Keys.Where(k => k.StartsWith("plateau.", StringComparison.Ordinal)).ToList()) t.Remove(k);
            m["plateau"] = "0";
            m.Remove("plateau.best");
        });
        Rejects<SafeTensorsException>(noPlateau, target, "the checkpoint holds no ReduceLrOnPlateau state; a plateau scheduler was given");
    }

    [Theory]
    [InlineData("1,2,zz,4,0,0", "metadata 'generator.0': word 2 is 'zz'; expected a 64-bit hexadecimal number")]
    [InlineData("1,2,3,4,0,10000000000000000", "metadata 'generator.0': word 5 is '10000000000000000'; expected a 64-bit hexadecimal number")]
    [InlineData("1,2,3,4,0", "metadata 'generator.0': Generator.SetState: expected a state of 6 words; got 5")]
    [InlineData("0,0,0,0,0,0", "metadata 'generator.0': Generator.SetState: expected a non-zero xoshiro state; got all zeros")]
    [InlineData("", "metadata 'generator.0': word 0 is ''; expected a 64-bit hexadecimal number")]
    public void GarbageGeneratorWords(string words, string fragment)
    {
        var (path, _, target) = Valid();
        Rejects<SafeTensorsException>(Rewrite(path, (_, m) => m["generator.0"] = words), target, fragment);
    }

    [Theory]
    [InlineData("epoch", "three", "metadata 'epoch' is 'three'; expected a non-negative integer")]
    [InlineData("epoch", "-1", "metadata 'epoch' is '-1'; expected a non-negative integer")]
    [InlineData("step", "1e3", "metadata 'step' is '1e3'; expected a non-negative integer")]
    [InlineData("generators", "99999999999", "metadata 'generators' is '99999999999'; expected a non-negative integer")]
    [InlineData("plateau", "yes", "metadata 'plateau' is 'yes'; expected 0 or 1")]
    [InlineData("format", "nabla.checkpoint.v0", "not a Nabla checkpoint (metadata 'format' is 'nabla.checkpoint.v0'; expected 'nabla.checkpoint.v1')")]
    public void BadMetadata(string key, string value, string fragment)
    {
        var (path, _, target) = Valid();
        Rejects<SafeTensorsException>(Rewrite(path, (_, m) => m[key] = value), target, fragment);
    }

    [Theory]
    [InlineData("epoch")]
    [InlineData("step")]
    [InlineData("generators")]
    [InlineData("generator.0")]
    public void MissingMetadata(string key)
    {
        var (path, _, target) = Valid();
        Rejects<SafeTensorsException>(Rewrite(path, (_, m) => m.Remove(key)), target, $"metadata '{key}' is missing");
    }

    [Fact]
    public void ExactValuesThatDisagreeWithTheTensors()
    {
        var (path, _, target) = Valid();
        var bytes = Rewrite(path, (_, m) => m["optimizer.exact.0.lr"] = BitConverter.DoubleToUInt64Bits(0.75).ToString("x16", CultureInfo.InvariantCulture));
        Rejects<SafeTensorsException>(bytes, target, "metadata 'optimizer.exact.0.lr' holds 0.75, which disagrees with the tensor's");
        bytes = Rewrite(path, (_, m) => m["optimizer.exact.0.nope"] = "0");
        Rejects<SafeTensorsException>(bytes, target, "metadata 'optimizer.exact.0.nope' names no 0-d optimizer tensor 'optimizer.param_groups.0.nope'");
        bytes = Rewrite(path, (_, m) => m["plateau.best"] = "not hex");
        Rejects<SafeTensorsException>(bytes, target, "metadata 'plateau.best' is 'not hex'; expected the 64-bit hexadecimal bits of a double");
    }

    [Fact]
    public void UnexpectedTensor()
    {
        var (path, _, target) = Valid();
        var bytes = Rewrite(path, (t, _) => t.Add("scheduler.1.last_epoch", Tensor.Scalar(0)));
        Rejects<SafeTensorsException>(bytes, target, "unexpected tensor \"scheduler.1.last_epoch\" (a checkpoint holds model.*, optimizer.*, scheduler.<i>.* and plateau.* tensors)");
    }

    [Fact]
    public void SchedulerOfAnotherOptimizer_IsAnArgumentError()
    {
        var (path, bytes, target) = Valid();
        var other = new Run(3, 0);
        Rejects<ArgumentException>(bytes, target, "Checkpoint: scheduler 0 (StepLr) schedules another optimizer than the one given",
            (p, t) => Checkpoint.Load(p, t.Model, t.Optimizer, [t.Generator], [other.Scheduler], t.Plateau));
        Rejects<ArgumentException>(bytes, target, "Checkpoint: the plateau scheduler schedules another optimizer than the one given",
            (p, t) => Checkpoint.Load(p, t.Model, t.Optimizer, [t.Generator], [t.Scheduler], other.Plateau));
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }
}
