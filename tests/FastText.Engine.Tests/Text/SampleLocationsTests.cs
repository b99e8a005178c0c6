using FastText.Cli;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>Where the commands look for the shipped tables: a copy of the program outside the repository must still find
/// EDA's synonyms and the tagged Brown sample (a user who installs the CLI should not need --synonyms).</summary>
public sealed class SampleLocationsTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void Outside_the_repository_the_working_folder_then_the_programs_own_samples_are_searched()
    {
        string program = folder.Combine("tools", "fasttext"), working = folder.Combine("work");

        Assert.Equal([Path.Combine(working, "samples"), Path.Combine(program, "samples")], SampleLocations.SearchFolders(program, working));
    }

    [Fact]
    public void Inside_the_repository_its_samples_come_first()
    {
        folder.Write("FastText.Engine.sln", "");
        string program = folder.Combine("src", "FastText.Cli", "bin"), working = folder.Combine("elsewhere");

        List<string> searched = SampleLocations.SearchFolders(program, working);

        Assert.Equal(folder.Combine("samples"), searched[0]);
        Assert.Equal(folder.Combine(".data"), searched[1]);
        Assert.Equal(Path.Combine(program, "samples"), searched[^1]);
    }

    [Theory]
    [InlineData("wordnet-synonyms.tsv.gz")]
    [InlineData("wordnet-synonyms.LICENSE")]
    [InlineData("brown-tagged.txt.gz")]
    public void The_programs_build_carries_the_small_tables(string name)
    {
        string programFolder = Path.GetDirectoryName(typeof(FastTextCommandLine).Assembly.Location)!;
        string shipped = Path.Combine(programFolder, "samples", name);

        Assert.True(File.Exists(shipped), $"{shipped} is missing from the CLI's build output");
        Assert.Equal(new FileInfo(Path.Combine(TestRepository.Root, "samples", name)).Length, new FileInfo(shipped).Length);
    }
}
