using System.Text.RegularExpressions;

namespace FastText.Engine.Tests.Architecture;

/// <summary>The library's folders are its layers (src/README.md): a file may use its own layer and those before it.</summary>
public sealed partial class LayeringTests
{
    private static readonly string[][] Layers =
    [
        ["Native", "IO"],
        ["Text"],
        ["Data"],
        ["Models"],
        ["Training"],
        ["Reporting"],
        ["Interpretation"],
        ["Recipes"],
    ];

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?FastText\.Engine\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex EngineUsing();

    [Fact]
    public void No_file_of_the_library_uses_a_layer_above_its_own()
    {
        string source = Path.Combine(TestRepository.Root, "src", "FastText.Engine");
        var violations = new List<string>();
        int files = 0;
        foreach (string file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            string folder = relative.Split(Path.DirectorySeparatorChar)[0];
            if (folder is "obj" or "bin" || !relative.Contains(Path.DirectorySeparatorChar))
            {
                continue;
            }
            files++;
            int own = LayerOf(folder) ?? throw new Xunit.Sdk.XunitException($"{relative}: folder '{folder}' is in no layer of src/README.md's table.");
            foreach (Match m in EngineUsing().Matches(File.ReadAllText(file)))
            {
                string used = m.Groups[1].Value;
                if (LayerOf(used) is { } layer && layer > own)
                {
                    violations.Add($"{relative} ({folder}) uses FastText.Engine.{used}");
                }
            }
        }
        Assert.True(files > 50, $"only {files} files found under {source}");
        Assert.Empty(violations);
    }

    private static int? LayerOf(string folder)
    {
        for (int i = 0; i < Layers.Length; i++)
        {
            if (Layers[i].Contains(folder))
            {
                return i;
            }
        }
        return null;
    }
}
