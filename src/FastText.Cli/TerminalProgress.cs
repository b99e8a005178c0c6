using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.IO;

namespace FastText.Cli;

/// <summary>
/// Progress for the terminal: a redrawn bar with rate and ETA when the output is a terminal, plain lines (every 10 %
/// and at the end) when it is redirected, so CI logs stay readable.
/// </summary>
public sealed class TerminalProgress : IProgressSink
{
    private readonly TextWriter output;
    private readonly object gate = new();

    /// <summary>Creates a sink writing to <paramref name="output"/>.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="interactive">Redraw one line in place (a terminal) instead of printing plain lines.</param>
    public TerminalProgress(TextWriter output, bool interactive)
    {
        this.output = output;
        Interactive = interactive;
    }

    /// <summary>Whether bars are redrawn in place.</summary>
    public bool Interactive { get; }

    /// <summary>A sink for the console: bars unless stdout is redirected or TERM is "dumb".</summary>
    public static TerminalProgress ForConsole() => new(Console.Out,
        !Console.IsOutputRedirected && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal));

    /// <inheritdoc />
    public IProgressTask Start(string description, long total, string unit) => new Bar(this, description, total, unit);

    /// <inheritdoc />
    public void Log(string line)
    {
        lock (gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    private sealed class Bar : IProgressTask
    {
        private const int Width = 28;
        private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(200);
        private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(30);
        private readonly TerminalProgress owner;
        private readonly string description;
        private readonly long total;
        private readonly string unit;
        private readonly Stopwatch watch = Stopwatch.StartNew();
        private TimeSpan lastDrawn = TimeSpan.Zero;
        private int lastDecile;
        private long done;
        private string? status;
        private int drawnLength;
        private bool disposed;

        public Bar(TerminalProgress owner, string description, long total, string unit)
        {
            this.owner = owner;
            this.description = description;
            this.total = Math.Max(0, total);
            this.unit = unit;
            if (owner.Interactive)
            {
                Draw(force: true);
            }
        }

        public void Report(long done, string? status = null)
        {
            this.done = done;
            this.status = status ?? this.status;
            if (owner.Interactive)
            {
                Draw(force: false);
                return;
            }
            int decile = total > 0 ? (int)Math.Min(10, done * 10 / total) : -1;
            TimeSpan now = watch.Elapsed;
            if ((decile > lastDecile && decile < 10) || now - lastDrawn >= PlainInterval)
            {
                lastDecile = Math.Max(lastDecile, decile);
                lastDrawn = now;
                owner.Log(Line(final: false));
            }
        }

        public void Dispose()
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            if (owner.Interactive)
            {
                Draw(force: true);
                lock (owner.gate)
                {
                    owner.output.WriteLine();
                    owner.output.Flush();
                }
            }
            else
            {
                owner.Log(Line(final: true));
            }
        }

        private void Draw(bool force)
        {
            TimeSpan now = watch.Elapsed;
            if (!force && now - lastDrawn < RedrawInterval && drawnLength > 0)
            {
                return;
            }
            lastDrawn = now;
            string line = Line(final: false);
            lock (owner.gate)
            {
                // Pad over the previous, possibly longer, line instead of relying on terminal escape codes.
                owner.output.Write('\r' + line + new string(' ', Math.Max(0, drawnLength - line.Length)));
                owner.output.Flush();
            }
            drawnLength = line.Length;
        }

        internal string Line(bool final)
        {
            var text = new StringBuilder(description);
            double seconds = watch.Elapsed.TotalSeconds;
            if (total > 0)
            {
                double fraction = Math.Clamp((double)done / total, 0, 1);
                int filled = (int)Math.Round(fraction * Width);
                if (owner.Interactive)
                {
                    text.Append(" [").Append('#', filled).Append('-', Width - filled).Append(']');
                }
                text.Append(CultureInfo.InvariantCulture, $" {fraction * 100,3:0}% {done:N0}/{total:N0} {unit}");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $" {done:N0} {unit}");
            }
            if (!string.IsNullOrEmpty(status))
            {
                text.Append(" · ").Append(status);
            }
            text.Append(" · ").Append(Durations.Format(seconds));
            if (!final && total > 0 && done > 0 && done < total)
            {
                double eta = seconds / done * (total - done);
                text.Append(" < ETA ").Append(Durations.Format(eta));
            }
            return text.ToString();
        }
    }
}
