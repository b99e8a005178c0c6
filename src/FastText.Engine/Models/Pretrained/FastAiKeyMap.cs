using System.Globalization;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// The table between fastai's state-dict keys and the engine's, for an AWD-LSTM language model
/// (<c>SequentialRNN(AWD_LSTM, LinearDecoder)</c>) or its encoder alone (fastai <c>save_encoder</c>).
/// </summary>
/// <remarks>
/// <para>Language model, layer <c>l</c> (fastai key → engine key; the engine's <c>AwdLstmLanguageModel</c> registers
/// its encoder as <c>0</c> and decoder as <c>1</c> precisely so the names are the same):</para>
/// <code>
/// 0.encoder.weight                    → 0.encoder.weight           (V × emb)
/// 0.encoder_dp.emb.weight             → alias of 0.encoder.weight  (same tensor in fastai; not a separate engine key)
/// 0.rnns.l.weight_hh_l0_raw           → 0.rnns.l.weight_hh_l0_raw  (4H × H, WeightDropout's raw matrix)
/// 0.rnns.l.module.weight_ih_l0        → 0.rnns.l.module.weight_ih_l0
/// 0.rnns.l.module.bias_ih_l0          → 0.rnns.l.module.bias_ih_l0
/// 0.rnns.l.module.bias_hh_l0          → 0.rnns.l.module.bias_hh_l0
/// 0.rnns.l.module.weight_hh_l0        → dropped (legacy copy; fastai clean_raw_keys)
/// 1.decoder.weight                    → 1.decoder.weight, tied: alias of 0.encoder.weight
/// 1.decoder.bias                      → 1.decoder.bias             (V)
/// </code>
/// <para>Encoder file: the same keys without the leading <c>0.</c> on both sides.</para>
/// </remarks>
internal sealed class FastAiKeyMap
{
    private readonly Dictionary<string, string> fastAiToEngine;
    private readonly Dictionary<string, string> engineToFastAi;
    private readonly Dictionary<string, string> aliases;

    private FastAiKeyMap(List<(string FastAi, string Engine)> entries, Dictionary<string, string> aliases,
        string embeddingKey, string? decoderBiasKey)
    {
        Entries = entries;
        fastAiToEngine = entries.ToDictionary(e => e.FastAi, e => e.Engine, StringComparer.Ordinal);
        engineToFastAi = entries.ToDictionary(e => e.Engine, e => e.FastAi, StringComparer.Ordinal);
        this.aliases = aliases;
        EmbeddingKey = embeddingKey;
        DecoderBiasKey = decoderBiasKey;
    }

    /// <summary>Canonical keys in fastai's state-dict order: (fastai key, engine key).</summary>
    public IReadOnlyList<(string FastAi, string Engine)> Entries { get; }

    /// <summary>fastai keys that hold the same tensor as another key: alias → canonical fastai key.</summary>
    public IReadOnlyDictionary<string, string> Aliases => aliases;

    /// <summary>fastai key of the embedding matrix (<c>0.encoder.weight</c>, or <c>encoder.weight</c> for an encoder file).</summary>
    public string EmbeddingKey { get; }

    /// <summary>fastai key of the decoder bias (<c>1.decoder.bias</c>), or null for an encoder file.</summary>
    public string? DecoderBiasKey { get; }

    /// <summary>The language model: fastai <c>awd_lstm_lm_config</c> layout with <paramref name="layers"/> LSTMs.</summary>
    /// <param name="layers">Number of LSTM layers (fastai <c>n_layers</c>, 3).</param>
    /// <param name="decoderBias">Whether the decoder has a bias (fastai <c>out_bias</c>, true).</param>
    public static FastAiKeyMap LanguageModel(int layers = 3, bool decoderBias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        var entries = new List<(string, string)>();
        AddEncoder(entries, "0.", layers);
        entries.Add(("1.decoder.weight", "1.decoder.weight"));
        if (decoderBias)
        {
            entries.Add(("1.decoder.bias", "1.decoder.bias"));
        }
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["0.encoder_dp.emb.weight"] = "0.encoder.weight",
        };
        return new FastAiKeyMap(entries, aliases, "0.encoder.weight", decoderBias ? "1.decoder.bias" : null);
    }

    /// <summary>The encoder alone (fastai <c>save_encoder</c>: the language model's keys without <c>0.</c>).</summary>
    public static FastAiKeyMap Encoder(int layers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        var entries = new List<(string, string)>();
        AddEncoder(entries, "", layers);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["encoder_dp.emb.weight"] = "encoder.weight",
        };
        return new FastAiKeyMap(entries, aliases, "encoder.weight", null);
    }

    /// <summary>
    /// The identity table for any engine module whose keys mirror fastai's (language model, encoder, or the
    /// classifier's <c>0.module.…</c> / <c>1.layers.…</c>): every engine key is its own fastai key; each
    /// <c>…encoder.weight</c> gets fastai's <c>…encoder_dp.emb.weight</c> alias; a tied language model
    /// (<c>0.encoder.weight</c> + <c>1.decoder.bias</c> without <c>1.decoder.weight</c>) gets <c>1.decoder.weight</c>.
    /// </summary>
    /// <param name="engineKeys">The module's state-dict keys, in its order.</param>
    public static FastAiKeyMap ForEngineKeys(IEnumerable<string> engineKeys)
    {
        ArgumentNullException.ThrowIfNull(engineKeys);
        var keys = engineKeys.ToList();
        var entries = new List<(string, string)>(keys.Count + 1);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        string? embedding = null;
        bool tiedDecoder = keys.Contains("0.encoder.weight") && keys.Contains("1.decoder.bias") && !keys.Contains("1.decoder.weight");
        foreach (string key in keys)
        {
            if (tiedDecoder && key == "1.decoder.bias")
            {
                entries.Add(("1.decoder.weight", "1.decoder.weight"));
            }
            entries.Add((key, key));
            if (key == "encoder.weight" || key.EndsWith(".encoder.weight", StringComparison.Ordinal))
            {
                aliases[key[..^"encoder.weight".Length] + "encoder_dp.emb.weight"] = key;
                embedding ??= key;
            }
        }
        return new FastAiKeyMap(entries, aliases, embedding ?? "0.encoder.weight",
            keys.Contains("1.decoder.bias") ? "1.decoder.bias" : null);
    }

    /// <summary>The engine key for a canonical fastai key, or null when the key is not in the table.</summary>
    public string? ToEngine(string fastAiKey) => fastAiToEngine.GetValueOrDefault(fastAiKey);

    /// <summary>The fastai key for an engine key, or null when the key is not in the table.</summary>
    public string? ToFastAi(string engineKey) => engineToFastAi.GetValueOrDefault(engineKey);

    /// <summary>
    /// fastai <c>clean_raw_keys</c>: a key whose name without its last <c>module</c> component plus <c>_raw</c> is also
    /// present (<c>0.rnns.0.module.weight_hh_l0</c> next to <c>0.rnns.0.weight_hh_l0_raw</c>) is a stale copy.
    /// </summary>
    public static bool IsStaleRawCopy(string key, Func<string, bool> containsKey)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(containsKey);
        string[] parts = key.Split('.');
        int module = Array.LastIndexOf(parts, "module");
        if (module < 0)
        {
            return false;
        }
        string withoutModule = string.Join('.', parts.Where((_, i) => i != module));
        return containsKey(withoutModule + "_raw");
    }

    private static void AddEncoder(List<(string, string)> entries, string prefix, int layers)
    {
        entries.Add((prefix + "encoder.weight", prefix + "encoder.weight"));
        for (int l = 0; l < layers; l++)
        {
            string layer = prefix + "rnns." + l.ToString(CultureInfo.InvariantCulture) + ".";
            foreach (string name in new[] { "weight_hh_l0_raw", "module.weight_ih_l0", "module.bias_ih_l0", "module.bias_hh_l0" })
            {
                entries.Add((layer + name, layer + name));
            }
        }
    }
}
