namespace FastText.Engine.Tests;

/// <summary>The repository the tests run from (the folder holding FastText.Engine.sln above the test binaries).</summary>
internal static class TestRepository
{
    /// <summary>The repository's root folder.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("FastText.Engine.sln not found above " + AppContext.BaseDirectory);
    }
}
