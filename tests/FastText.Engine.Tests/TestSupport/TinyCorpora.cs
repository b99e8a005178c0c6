namespace FastText.Engine.Tests;

/// <summary>The command-line tests' tiny data: labelled mails whose class shows in their words (train/ and test/
/// folders, spam/ and ham/ labels; 60 by default) and an unlabelled "English" file (40 lines by default).</summary>
internal static class TinyCorpora
{
    /// <summary>Writes both into <paramref name="folder"/>; returns the mail folder and the line file.</summary>
    public static (string Mails, string English) Write(string folder, int seed, int mails = 60, int lines = 40)
    {
        var random = new Random(seed);
        string[] spamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 5 + random.Next(10)).Select(_ => words[random.Next(words.Length)])) + ".";
        string data = Path.Combine(folder, "mails");
        for (int i = 0; i < mails; i++)
        {
            string label = i % 2 == 0 ? "spam" : "ham";
            string path = Path.Combine(data, i % 5 == 0 ? "test" : "train", label, $"{i}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Sentence(label == "spam" ? spamWords : hamWords));
        }
        string english = Path.Combine(folder, "english.txt");
        File.WriteAllLines(english, Enumerable.Range(0, lines).Select(_ => Sentence(hamWords) + " " + Sentence(spamWords)));
        return (data, english);
    }
}
