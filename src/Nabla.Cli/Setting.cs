using System.Text.Json.Nodes;

namespace Nabla.Cli;

/// <summary>
/// One option of <c>nabla train</c>, declared once: its flag and help (the <see cref="OptionSpec"/>
/// that parsing and config files check values against), how it reads into and out of a
/// <see cref="TrainConfig"/>, its default (which may depend on the options before it) and its range.
/// </summary>
internal abstract class Setting(OptionSpec spec)
{
    public OptionSpec Spec { get; } = spec;

    /// <summary>The configuration with this option set from <paramref name="value"/> (a type-checked JSON value), or its default when null; the range is checked by <see cref="Check"/>.</summary>
    public abstract TrainConfig Read(TrainConfig c, JsonNode? value);

    /// <summary>The option's value as config.json holds it.</summary>
    public abstract JsonNode? Write(TrainConfig c);

    /// <summary>What is wrong with the option's value in <paramref name="c"/>, or null.</summary>
    public abstract string? Check(TrainConfig c);

    public static Setting Int(string flag, string help, Func<TrainConfig, int> get, Func<TrainConfig, int, TrainConfig> set,
        Func<TrainConfig, int> fallback, Func<int, string?>? check = null) =>
        new Of<int>(new(flag, OptionKind.Int, help), get, set, fallback, n => n.GetValue<int>(), v => JsonValue.Create(v), check);

    public static Setting Number(string flag, string help, Func<TrainConfig, double> get, Func<TrainConfig, double, TrainConfig> set,
        Func<TrainConfig, double> fallback, Func<double, string?>? check = null) =>
        new Of<double>(new(flag, OptionKind.Number, help), get, set, fallback, n => n.GetValue<double>(), v => JsonValue.Create(v), check);

    public static Setting Switch(string flag, string help, Func<TrainConfig, bool> get, Func<TrainConfig, bool, TrainConfig> set,
        Func<TrainConfig, bool> fallback) =>
        new Of<bool>(new(flag, OptionKind.Switch, help), get, set, fallback, n => n.GetValue<bool>(), v => JsonValue.Create(v), null);

    public static Setting Choice<T>(string flag, string help, Words<T> words, Func<TrainConfig, T> get, Func<TrainConfig, T, TrainConfig> set,
        Func<TrainConfig, T> fallback) where T : struct, Enum =>
        new Of<T>(new(flag, OptionKind.Choice, help, words.All), get, set, fallback, n => words.Parse(n.GetValue<string>()), v => JsonValue.Create(words.Of(v)), null);

    /// <summary>An option that is off (null) unless given.</summary>
    public static Setting OptionalNumber(string flag, string help, Func<TrainConfig, double?> get, Func<TrainConfig, double?, TrainConfig> set,
        Func<double, string?> check) =>
        new Of<double?>(new(flag, OptionKind.Number, help), get, set, _ => null, n => n.GetValue<double>(), v => v is null ? null : JsonValue.Create(v.Value),
            v => v is double d ? check(d) : null);

    /// <summary>An option that is off (null) unless given.</summary>
    public static Setting OptionalInt(string flag, string help, Func<TrainConfig, int?> get, Func<TrainConfig, int?, TrainConfig> set,
        Func<int, string?> check) =>
        new Of<int?>(new(flag, OptionKind.Int, help), get, set, _ => null, n => n.GetValue<int>(), v => v is null ? null : JsonValue.Create(v.Value),
            v => v is int i ? check(i) : null);

    public static Setting Text(string flag, string help, Func<TrainConfig, string?> get, Func<TrainConfig, string?, TrainConfig> set,
        Func<string?, string?>? check = null, string? format = null) =>
        new Of<string?>(format is null ? new(flag, OptionKind.Path, help) : new(flag, OptionKind.Text, help, [format]), get, set, _ => null,
            n => n.GetValue<string>(), v => v is null ? null : JsonValue.Create(v), check);

    sealed class Of<T>(OptionSpec spec, Func<TrainConfig, T> get, Func<TrainConfig, T, TrainConfig> set, Func<TrainConfig, T> fallback,
        Func<JsonNode, T> parse, Func<T, JsonNode?> write, Func<T, string?>? check) : Setting(spec)
    {
        public override TrainConfig Read(TrainConfig c, JsonNode? value) => set(c, value is null ? fallback(c) : parse(value));

        public override string? Check(TrainConfig c) => check?.Invoke(get(c));

        public override JsonNode? Write(TrainConfig c) => write(get(c));
    }
}
