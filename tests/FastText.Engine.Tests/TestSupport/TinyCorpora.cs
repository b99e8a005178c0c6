namespace FastText.Engine.Tests;

/// <summary>The command-line tests' tiny data: 60 labelled mails whose class shows in their words (train/ and test/
/// folders, spam/ and ham/ labels) and a 40-line unlabelled "English" file.</summary>
internal static class TinyCorpora
{
    /// <summary>Writes both into <paramref name="folder"/>; returns the mail folder and the line file.</summary>
    public static (string Mails, string English) Write(string folder, int seed)
    {
        var random = new Random(seed);
        string[] spamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 5 + random.Next(10)).Select(_ => words[random.Next(words.Length)])) + ".";
        string data = Path.Combine(folder, "mails");
        for (int i = 0; i < 60; i++)
        {
            string label = i % 2 == 0 ? "spam" : "ham";
            string path = Path.Combine(data, i % 5 == 0 ? "test" : "train", label, $"{i}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Sentence(label == "spam" ? spamWords : hamWords));
        }
        string lines = Path.Combine(folder, "english.txt");
        File.WriteAllLines(lines, Enumerable.Range(0, 40).Select(_ => Sentence(hamWords) + " " + Sentence(spamWords)));
        return (data, lines);
    }
}
