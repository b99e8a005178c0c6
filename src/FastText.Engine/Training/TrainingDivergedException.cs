namespace FastText.Engine.Training;

/// <summary>
/// Training produced a loss or weights that are not finite (NaN or ±∞): usually a learning rate far too high, or no
/// gradient clipping on a recurrent model. Thrown before the step that would apply it, so nothing non-finite reaches the
/// weights or any file: the last checkpoint written (if any) holds the last finite weights.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception with a message that names the step.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that names the step and the cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
    {
    }
}
