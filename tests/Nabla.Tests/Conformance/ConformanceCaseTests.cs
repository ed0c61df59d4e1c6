namespace Nabla.Tests.ConformanceTests;

/// <summary>
/// Every case of every manifest in the conformance directory, one test each (named
/// <c>conformance(id: "manifest/case")</c>), against libtorch's float64 reference values.
/// </summary>
public class ConformanceCaseTests
{
    /// <summary>The row that stands for "the directory could not be read": its test fails with the reason.</summary>
    internal const string LoadErrorRow = "<conformance cases could not be loaded>";

    public static TheoryData<string> Cases => CaseIds(() => ConformanceSuite.DefaultDirectory());

    /// <summary>
    /// The case ids of a directory; if it cannot be read (no manifest, bad JSON), one row that fails,
    /// so the suite never passes with zero cases.
    /// </summary>
    internal static TheoryData<string> CaseIds(Func<string> directory)
    {
        var data = new TheoryData<string>();
        try
        {
            foreach (var c in ConformanceSuite.Load(directory())) data.Add(c.Id);
        }
        catch (Exception e) when (e is ConformanceSetupException or IOException or UnauthorizedAccessException)
        {
            data.Add(LoadErrorRow);
        }
        return data;
    }

    /// <summary>Runs the case <paramref name="id"/> of <paramref name="directory"/> (or reports why the directory failed to load).</summary>
    internal static void RunById(string directory, string id)
    {
        if (id == LoadErrorRow)
        {
            ConformanceSuite.Load(directory); // throws the reason, naming the directory
            Assert.Fail($"conformance: the cases of '{directory}' could not be listed, but loading them now succeeds");
        }
        ConformanceRunner.Run(ConformanceSuite.Find(directory, id));
    }

    [Theory(DisplayName = "conformance")]
    [MemberData(nameof(Cases))]
    public void Case(string id) => RunById(ConformanceSuite.DefaultDirectory(), id);

    [Fact]
    public void DefaultDirectory_HasCases()
    {
        var dir = ConformanceSuite.DefaultDirectory();
        Assert.NotEmpty(ConformanceSuite.Load(dir));
    }
}
