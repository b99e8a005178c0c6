#!/usr/bin/env python3
"""Builds the tiny fastai-shaped AWD-LSTM language-model fixture with real PyTorch, and checks our exports.

Needs only PyTorch (Debian 12: `apt-get install python3-torch`, PyTorch 1.13); fastai itself is not needed because
the modules below reproduce fastai v2's module tree (`SequentialRNN(AWD_LSTM, LinearDecoder)`), so `state_dict()`
yields exactly fastai's key names, including the duplicated `0.encoder_dp.emb.weight` and the tied `1.decoder.weight`.

    python3 make_fastai_fixture.py make     # writes the fixture files next to this script: language model (zip,
                                            # {'model','opt'}-wrapped with a legacy key, legacy format), encoder,
                                            # classifier, vocabulary, and fastai_lm_expected.json (values PyTorch
                                            # computed: tensors, match_embeds, eval-mode LM and classifier logits)
    python3 make_fastai_fixture.py verify   # loads engine_export.pth / engine_export_vocab.pkl and
                                            # engine_classifier_export.pth (written by the C# exporter) in PyTorch and
                                            # records what PyTorch saw in engine_export_pytorch_check.json

`make` is deterministic (seeded) except for fastai_lm_legacy.pth, whose legacy format names storages by memory
address: its bytes change, its values do not.

The C# tests read these files; they never run Python.
"""
import json
import os
import pickle
import sys
from collections import OrderedDict

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))

SPECIALS = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"]
OLD_VOCAB = SPECIALS + ["the", ",", ".", "and", "of", "to", "a"]
# The vocabulary the C# test matches the pretrained rows to: some tokens kept (in another order), some new.
NEW_VOCAB = SPECIALS + ["a", "cat", ".", "the", "dog", "of", "sat", "mat"]
EMB, HID, LAYERS, PAD = 8, 12, 3, 1
INPUT_IDS = [[2, 9, 15, 11, 1], [2, 12, 10, 9, 13]]  # batch of 2 rows, 5 tokens each (old-vocab ids)


class WeightDropout(nn.Module):
    """fastai's WeightDropout: the LSTM's hidden-to-hidden matrix becomes the parameter `weight_hh_l0_raw`."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        w = getattr(self.module, "weight_hh_l0")
        delattr(self.module, "weight_hh_l0")
        self.register_parameter("weight_hh_l0_raw", nn.Parameter(w.data))
        setattr(self.module, "weight_hh_l0", w.clone())

    def forward(self, x, h):
        # Eval mode: the raw matrix is used as-is (no DropConnect).
        setattr(self.module, "weight_hh_l0", self.weight_hh_l0_raw.clone())
        return self.module(x, h)


class EmbeddingDropout(nn.Module):
    def __init__(self, emb):
        super().__init__()
        self.emb = emb

    def forward(self, ids):
        return self.emb(ids)


class AWD_LSTM(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.encoder = nn.Embedding(vocab_size, EMB, padding_idx=PAD)
        self.encoder_dp = EmbeddingDropout(self.encoder)
        self.rnns = nn.ModuleList(
            [WeightDropout(nn.LSTM(EMB if l == 0 else HID, HID if l != LAYERS - 1 else EMB, 1, batch_first=True))
             for l in range(LAYERS)])
        self.encoder.weight.data.uniform_(-0.1, 0.1)

    def forward(self, ids):
        x = self.encoder_dp(ids)
        for rnn in self.rnns:
            x, _ = rnn(x, None)
        return x


class LinearDecoder(nn.Module):
    def __init__(self, vocab_size, tie_encoder):
        super().__init__()
        self.decoder = nn.Linear(EMB, vocab_size, bias=True)
        self.decoder.weight = tie_encoder.weight
        with torch.no_grad():
            # fastai initialises the bias to 0; a non-zero bias makes the matching of bias entries testable.
            self.decoder.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.decoder(x)


class SentenceEncoder(nn.Module):
    """fastai's SentenceEncoder: the AWD_LSTM is its `module` (classifier keys `0.module.…`)."""

    def __init__(self, module):
        super().__init__()
        self.module = module


class LinBnDrop(nn.Sequential):
    """fastai's LinBnDrop(n_in, n_out, bn=True, p, act): BatchNorm1d, Dropout, Linear without bias, activation."""

    def __init__(self, n_in, n_out, p, act=None):
        layers = [nn.BatchNorm1d(n_in), nn.Dropout(p), nn.Linear(n_in, n_out, bias=False)]
        if act is not None:
            layers.append(act)
        super().__init__(*layers)


class PoolingLinearClassifier(nn.Module):
    def __init__(self, dims, ps):
        super().__init__()
        acts = [nn.ReLU(inplace=True)] * (len(dims) - 2) + [None]
        self.layers = nn.Sequential(*[LinBnDrop(i, o, p, a) for i, o, p, a in zip(dims[:-1], dims[1:], ps, acts)])


CLASSIFIER_FEATURES, CLASSES = 6, 2
CLASSIFIER_IDS = [[2, 9, 15, 11, 4], [2, 12, 10, 9, 13]]  # no xxpad: one bptt chunk, nothing masked


def classifier_logits(model, ids):
    """fastai's classifier forward in eval mode for unpadded rows shorter than bptt: one AWD_LSTM chunk from zero
    state, masked_concat_pool = [last, max, mean] over time, then the LinBnDrop blocks."""
    with torch.no_grad():
        out = model[0].module(torch.tensor(ids))
        pooled = torch.cat([out[:, -1], out.max(dim=1)[0], out.mean(dim=1)], 1)
        return model[1].layers(pooled)


def build_classifier(vocab_size):
    model = nn.Sequential(SentenceEncoder(AWD_LSTM(vocab_size)),
                          PoolingLinearClassifier([3 * EMB, CLASSIFIER_FEATURES, CLASSES], [0.2, 0.1]))
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            # Non-default BatchNorm statistics, so loading them is observable.
            if name.endswith("running_mean"):
                buffer.uniform_(-1, 1)
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2)
            elif name.endswith("num_batches_tracked"):
                buffer.fill_(7)
    return model.eval()


def build_model(vocab_size):
    model = nn.Sequential(AWD_LSTM(vocab_size), None)
    model[1] = LinearDecoder(vocab_size, model[0].encoder)
    return model.eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model[1](model[0](torch.tensor(ids)))


def describe(t):
    flat = t.detach().double().flatten()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "sum": flat.sum().item(),
            "first": [v for v in flat[:4].tolist()], "last": flat[-1].item()}


def match_embeds(old_wgts, old_vocab, new_vocab):
    """fastai v2's match_embeds, restated: matched rows copied, new tokens get the mean row / mean bias."""
    bias, bias_name = None, "1.decoder.bias"
    wgts = old_wgts["0.encoder.weight"]
    wgts_m = wgts.mean(0)
    new_wgts = wgts.new_zeros((len(new_vocab), wgts.size(1)))
    if bias_name in old_wgts:
        bias = old_wgts[bias_name]
        bias_m = bias.mean(0)
        new_bias = bias.new_zeros((len(new_vocab),))
    old_o2i = {w: i for i, w in enumerate(old_vocab)}
    for i, w in enumerate(new_vocab):
        idx = old_o2i.get(w, -1)
        new_wgts[i] = wgts[idx] if idx >= 0 else wgts_m
        if bias is not None:
            new_bias[i] = bias[idx] if idx >= 0 else bias_m
    out = OrderedDict(old_wgts)
    out["0.encoder.weight"] = new_wgts
    if "0.encoder_dp.emb.weight" in out:
        out["0.encoder_dp.emb.weight"] = new_wgts.clone()
    out["1.decoder.weight"] = new_wgts.clone()
    if bias is not None:
        out[bias_name] = new_bias
    return out


def make():
    torch.manual_seed(20261126)
    model = build_model(len(OLD_VOCAB))
    sd = model.state_dict()
    assert list(sd.keys())[:2] == ["0.encoder.weight", "0.encoder_dp.emb.weight"], list(sd.keys())
    assert sd["0.encoder.weight"].data_ptr() == sd["1.decoder.weight"].data_ptr()

    # 1. A bare state dict, zip format (torch.save's default since PyTorch 1.6).
    torch.save(sd, os.path.join(HERE, "fastai_lm.pth"))
    # 2. fastai's learn.save layout {'model': ..., 'opt': ...} with a legacy `module.weight_hh_l0` duplicate that
    #    fastai's clean_raw_keys drops, and an Adam-like optimizer state (tensors, numbers, bools, nested lists).
    wrapped_sd = OrderedDict(sd)
    wrapped_sd["0.rnns.0.module.weight_hh_l0"] = sd["0.rnns.0.weight_hh_l0_raw"].clone()
    opt = {"state": [{"grad_avg": torch.zeros_like(p), "sqr_avg": torch.ones_like(p), "step": 3, "do_wd": True}
                     for p in list(model.parameters())[:2]],
           "hypers": [{"lr": 1e-3, "mom": 0.9, "sqr_mom": 0.99, "eps": 1e-5, "wd": 0.01}]}
    torch.save({"model": wrapped_sd, "opt": opt}, os.path.join(HERE, "fastai_lm_wrapped.pth"))
    # 3. The legacy (pre-1.6, non-zip) serialization, as found in older checkpoints.
    torch.save(sd, os.path.join(HERE, "fastai_lm_legacy.pth"), _use_new_zipfile_serialization=False)
    # 4. fastai's save_encoder: the AWD_LSTM's own state dict (keys without the leading "0.").
    torch.save(model[0].state_dict(), os.path.join(HERE, "fastai_encoder.pth"))
    # 5. A text classifier's state dict (text_classifier_learner: SentenceEncoder + PoolingLinearClassifier).
    classifier = build_classifier(len(OLD_VOCAB))
    classifier_sd = classifier.state_dict()
    torch.save(classifier_sd, os.path.join(HERE, "fastai_classifier.pth"))
    # fastai pickles the vocabulary list with pickle's default protocol.
    with open(os.path.join(HERE, "fastai_vocab.pkl"), "wb") as f:
        pickle.dump(OLD_VOCAB, f)

    matched = match_embeds(sd, OLD_VOCAB, NEW_VOCAB)
    expected = {
        "torch_version": torch.__version__,
        "old_vocab": OLD_VOCAB,
        "new_vocab": NEW_VOCAB,
        "sizes": {"vocab": len(OLD_VOCAB), "embedding": EMB, "hidden": HID, "layers": LAYERS},
        "keys": list(sd.keys()),
        "encoder_keys": list(model[0].state_dict().keys()),
        "classifier_keys": list(classifier_sd.keys()),
        "classifier_tensors": {k: describe(v) for k, v in classifier_sd.items()},
        "classifier_ids": CLASSIFIER_IDS,
        "classifier_eval_logits": classifier_logits(classifier, CLASSIFIER_IDS).tolist(),
        "tensors": {k: describe(v) for k, v in sd.items()},
        "encoder_row_10": sd["0.encoder.weight"][10].tolist(),
        "rnn1_weight_ih_0_3": sd["0.rnns.1.module.weight_ih_l0"][0, 3].item(),
        "input_ids": INPUT_IDS,
        "eval_logits": logits_of(model, INPUT_IDS).tolist(),
        "matched": {k: describe(matched[k]) for k in ("0.encoder.weight", "1.decoder.bias")},
        "matched_encoder_rows": matched["0.encoder.weight"].tolist(),
        "matched_bias": matched["1.decoder.bias"].tolist(),
    }
    with open(os.path.join(HERE, "fastai_lm_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote fixture:", sorted(n for n in os.listdir(HERE) if n.startswith("fastai_")))


def verify():
    """Loads our C# export in PyTorch, with PyTorch's restricted (weights-only) unpickler, and checks it."""
    path = os.path.join(HERE, "engine_export.pth")
    sd = torch.load(path, weights_only=True)
    with open(os.path.join(HERE, "engine_export_vocab.pkl"), "rb") as f:
        vocab = pickle.load(f)
    original = torch.load(os.path.join(HERE, "fastai_lm.pth"), weights_only=True)
    expected = match_embeds(original, OLD_VOCAB, vocab)

    model = build_model(len(vocab))
    result = model.load_state_dict(sd, strict=True)
    checks = {
        "torch_version": torch.__version__,
        "keys": list(sd.keys()),
        "vocab": vocab,
        "strict_load_missing": list(result.missing_keys),
        "strict_load_unexpected": list(result.unexpected_keys),
        # torch.load restores one storage per storage key: the tied/duplicated entries must share it.
        "encoder_dp_shares_storage": sd["0.encoder.weight"].data_ptr() == sd["0.encoder_dp.emb.weight"].data_ptr(),
        "decoder_shares_storage": sd["0.encoder.weight"].data_ptr() == sd["1.decoder.weight"].data_ptr(),
        "max_abs_diff_vs_pytorch_match_embeds": max(
            (sd[k].double() - expected[k].double()).abs().max().item() for k in expected.keys()),
        "dtypes": sorted({str(v.dtype) for v in sd.values()}),
        "eval_logits": logits_of(model, [[min(i, len(vocab) - 1) for i in row] for row in INPUT_IDS]).tolist(),
    }
    checks["ok"] = (not checks["strict_load_missing"] and not checks["strict_load_unexpected"]
                    and checks["encoder_dp_shares_storage"] and checks["decoder_shares_storage"]
                    and checks["max_abs_diff_vs_pytorch_match_embeds"] == 0.0 and vocab == NEW_VOCAB)
    checks["classifier"] = verify_classifier()
    checks["ok"] = checks["ok"] and checks["classifier"]["ok"]
    with open(os.path.join(HERE, "engine_export_pytorch_check.json"), "w") as f:
        json.dump(checks, f, indent=1)
    print(json.dumps({k: checks[k] for k in checks if k not in ("eval_logits", "keys", "vocab")}, indent=1))
    if not checks["ok"]:
        sys.exit(1)


def verify_classifier():
    """Our export of the classifier fixture must load strictly into fastai's classifier tree with the same values."""
    sd = torch.load(os.path.join(HERE, "engine_classifier_export.pth"), weights_only=True)
    original = torch.load(os.path.join(HERE, "fastai_classifier.pth"), weights_only=True)
    model = build_classifier(len(OLD_VOCAB))
    result = model.load_state_dict(sd, strict=True)
    checks = {
        "keys_in_fastai_order": list(sd.keys()) == list(original.keys()),
        "strict_load_missing": list(result.missing_keys),
        "strict_load_unexpected": list(result.unexpected_keys),
        "encoder_dp_shares_storage":
            sd["0.module.encoder.weight"].data_ptr() == sd["0.module.encoder_dp.emb.weight"].data_ptr(),
        "all_equal": all(torch.equal(sd[k], original[k]) and sd[k].dtype == original[k].dtype for k in original),
        "num_batches_tracked": sd["1.layers.0.0.num_batches_tracked"].item(),
    }
    checks["ok"] = (checks["keys_in_fastai_order"] and not checks["strict_load_missing"]
                    and not checks["strict_load_unexpected"] and checks["encoder_dp_shares_storage"]
                    and checks["all_equal"])
    return checks


if __name__ == "__main__":
    {"make": make, "verify": verify}[sys.argv[1] if len(sys.argv) > 1 else "make"]()
