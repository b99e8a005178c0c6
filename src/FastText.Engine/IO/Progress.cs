using System.Globalization;

namespace FastText.Engine.IO;

/// <summary>
/// Where long steps report progress (tokenizing, each epoch). The command line renders bars in a terminal and plain
/// lines when output is redirected; library users may pass <see cref="NullProgress.Instance"/> or their own sink.
/// </summary>
public interface IProgressSink
{
    /// <summary>Starts a step of <paramref name="total"/> units (batches, documents, bytes); dispose the task when done.</summary>
    /// <param name="description">What runs, e.g. "fine-tune epoch 2/4".</param>
    /// <param name="total">Units in the step (0 when unknown).</param>
    /// <param name="unit">Unit name for the counter, e.g. "batches".</param>
    IProgressTask Start(string description, long total, string unit);

    /// <summary>Writes one line of information (a finished epoch's metrics, a saved artifact).</summary>
    void Log(string line);
}

/// <summary>One running step of an <see cref="IProgressSink"/>.</summary>
public interface IProgressTask : IDisposable
{
    /// <summary>Sets the units done so far and, optionally, a status such as "loss 4.12 · 8,200 tok/s".</summary>
    void Report(long done, string? status = null);
}

/// <summary>A sink that shows nothing.</summary>
public sealed class NullProgress : IProgressSink, IProgressTask
{
    /// <summary>The shared instance.</summary>
    public static NullProgress Instance { get; } = new();

    private NullProgress()
    {
    }

    /// <inheritdoc />
    public IProgressTask Start(string description, long total, string unit) => this;

    /// <inheritdoc />
    public void Log(string line)
    {
    }

    /// <inheritdoc />
    public void Report(long done, string? status = null)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}

/// <summary>How progress lines and reports print a duration.</summary>
public static class Durations
{
    /// <summary>mm:ss like fastai's time column (h:mm:ss past an hour).</summary>
    public static string Format(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes:00}:{span.Seconds:00}");
    }
}
