namespace FastText.Engine.Text;

/// <summary>Which part of a data set a document belongs to (fastai's splitter result, stored per document).</summary>
public enum DocumentSplit : byte
{
    /// <summary>Training data (IMDb <c>train/</c> and <c>unsup/</c>; everything when the source has no split).</summary>
    Train = 0,

    /// <summary>Validation data (IMDb <c>test/</c>, which fastbook uses as its validation set).</summary>
    Validation = 1,
}
