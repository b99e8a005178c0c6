namespace FastText.Engine.Models.Pretrained;

/// <summary>What an import did: vocabulary matching counts and the keys it dropped or ignored.</summary>
/// <param name="Matched">New tokens whose rows came from the pretrained vocabulary (0 without vocabulary matching).</param>
/// <param name="New">New tokens given the mean pretrained row and bias.</param>
/// <param name="DroppedStaleKeys">Legacy <c>…module.weight_hh_l0</c> copies dropped (fastai <c>clean_raw_keys</c>).</param>
/// <param name="IgnoredKeys">Source keys not loaded because the target has no such key and loading was not strict.</param>
/// <param name="LoadedKeys">Target keys written.</param>
internal sealed record PretrainedImportReport(int Matched, int New, IReadOnlyList<string> DroppedStaleKeys,
    IReadOnlyList<string> IgnoredKeys, IReadOnlyList<string> LoadedKeys);
