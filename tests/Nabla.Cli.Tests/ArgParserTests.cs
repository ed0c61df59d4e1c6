using System.Text.Json.Nodes;
using Nabla.Cli;

namespace Nabla.Cli.Tests;

public class ArgParserTests
{
    static ArgParser.Result Parse(params string[] args) => ArgParser.Parse("train", args, TrainCommand.Options);

    static string Error(params string[] args) => Assert.Throws<CliException>(() => Parse(args)).Message;

    [Fact]
    public void ReadsValuesSwitchesAndEqualsForms()
    {
        var r = Parse("--lr", "0.1", "--epochs=3", "--no-batch-norm", "--nesterov", "--optimizer", "SGD", "--out", "x/y");
        Assert.Equal(0.1, r.Number("lr"));
        Assert.Equal(3, r.Int("epochs"));
        Assert.False(r.Switch("batch_norm"));
        Assert.True(r.Switch("nesterov"));
        Assert.Equal("sgd", r.Text("optimizer")); // choices are case-insensitive
        Assert.Equal("x/y", r.Text("out"));
        Assert.Empty(r.Positionals);
    }

    [Fact]
    public void NegativeNumbersAreValues()
    {
        Assert.Equal(-1, Parse("--seed", "-1").Int("seed"));
        Assert.Equal(-0.5, Parse("--lr=-0.5").Number("lr"));
    }

    [Theory]
    [InlineData("unknown option '--lrr' (did you mean '--lr'?)", "--lrr", "1")]
    [InlineData("unknown option '--bogus'; see nabla train --help", "--bogus")]
    [InlineData("--epochs expects a whole number; got 'ten'", "--epochs", "ten")]
    [InlineData("--lr expects a number; got 'fast'", "--lr", "fast")]
    [InlineData("--lr expects a number; got 'NaN'", "--lr", "NaN")]
    [InlineData("--optimizer expects one of adamw, adam, sgd; got 'lbfgs'", "--optimizer", "lbfgs")]
    [InlineData("--epochs expects a value", "--epochs")]
    [InlineData("--epochs expects a value", "--epochs", "--lr", "1")]
    [InlineData("--epochs is given twice", "--epochs", "1", "--epochs", "2")]
    [InlineData("--no-lr", "--no-lr")]
    [InlineData("--no-batch-norm takes no value", "--no-batch-norm=true")]
    [InlineData("--batch-norm expects true or false; got 'maybe'", "--batch-norm=maybe")]
    [InlineData("unknown option '-e' (options start with two dashes", "-e", "3")]
    public void Mistakes_GiveOneClearLine(string expected, params string[] args)
    {
        var message = Error(args);
        Assert.Contains(expected, message);
        Assert.DoesNotContain('\n', message);
    }
}
