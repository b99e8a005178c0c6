"""The whole ULMFiT recipe in plain PyTorch, as the engine runs it (issue 14's end-to-end comparison).

Reads what `--run peer-ulmfit` exported (bench/peers/.data/ulmfit): the engine's token ids of Brown and the mails, their
splits, labels and vocabularies, and the recipe. Then, timed stage by stage:
  pretrain   Brown LM, fit_one_cycle(epochs, lr), validation loss on Brown's held-out documents;
  fine-tune  mail LM from the Brown model, embeddings matched token by token (fastai match_embeds: new tokens get the
             mean row), 1 epoch frozen (embedding + decoder only) then unfrozen, validation on the held-out mails;
  classifier the fine-tuned encoder under fastai's PoolingLinearClassifier (masked concat pooling, BN/Dropout/Linear
             3E→50→classes), bptt-chunked sentence encoder that feeds rows once their text starts, SortedDL-style
             length bucketing (megabatches of 50·bs sorted longest first, longest batch first), gradual unfreezing
             freeze_to(-1), (-2), (-3), unfrozen with slice(lr/2.6^4, lr), accuracy on the held-out mails.
Model and optimizer as bench/peers/pytorch_lm.py (fastai's AWD_LSTM, AR 2 / TAR 1, Adam with decoupled weight decay 0.01
except biases and BatchNorm, one-cycle with moms 0.8/0.7/0.8, pct 0.25). bf16 = torch.autocast('cpu', bfloat16).

Seed study (recipe.py --classifier-seeds): --classifier-seeds 1,2,3 runs the language-model stages once (seed 42 as
always) and then the classifier stage once per seed from the same fine-tuned encoder, each seed reseeding torch (head
initialisation, dropout masks) and the batch shuffles; the data and the held-out mails are the engine's export, whatever
the seed. Each seed prints a line `SEED {json}` as it finishes. --lm-state PATH saves the fine-tuned language model
there (torch.save, with the two stages' results) and, when the file exists, loads it instead of training the two stages.

Usage: python3 pytorch_ulmfit.py --threads 2 [--precision fp32|bf16] [--data DIR] [--classifier-seeds 1,2,3] [--lm-state PATH]
       [--max-batches N (smoke test only)]. Prints one line `RESULT {json}`.
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LM_DROPOUTS = dict(output=0.1, hidden=0.15, input=0.25, embed=0.02, weight=0.2)       # awd_lstm_lm_config
CLAS_DROPOUTS = dict(output=0.4, hidden=0.3, input=0.4, embed=0.05, weight=0.5)      # awd_lstm_clas_config
ALPHA, BETA, PAD = 2.0, 1.0, 1
MAX_BATCHES = None      # --max-batches: a smoke test of the script, never a recorded run


def locked_dropout(x, p, training):
    if not training or p == 0:
        return x
    return x * x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p).div_(1 - p)


class Encoder(torch.nn.Module):
    """fastai's AWD_LSTM: embedding (+ embedding dropout), locked input dropout, weight-dropped LSTMs, locked hidden dropout."""

    def __init__(self, vocab, emb, hidden, layers, dropouts):
        super().__init__()
        self.p = dropouts
        self.embedding = torch.nn.Embedding(vocab, emb, padding_idx=PAD)
        self.embedding.weight.data.uniform_(-0.1, 0.1)
        self.sizes = [(emb if l == 0 else hidden, emb if l == layers - 1 else hidden) for l in range(layers)]
        self.rnns = torch.nn.ModuleList()
        for i, h in self.sizes:
            layer = torch.nn.Module()
            bound = 1 / math.sqrt(h)
            layer.w_ih = torch.nn.Parameter(torch.empty(4 * h, i).uniform_(-bound, bound))
            layer.w_hh = torch.nn.Parameter(torch.empty(4 * h, h).uniform_(-bound, bound))
            layer.b_ih = torch.nn.Parameter(torch.empty(4 * h).uniform_(-bound, bound))
            layer.b_hh = torch.nn.Parameter(torch.empty(4 * h).uniform_(-bound, bound))
            self.rnns.append(layer)
        self.state = None

    def reset(self):
        self.state = None

    def forward(self, ids):
        weight = self.embedding.weight
        if self.training and self.p["embed"] > 0:
            weight = weight * weight.new_empty(weight.size(0), 1).bernoulli_(1 - self.p["embed"]).div_(1 - self.p["embed"])
        x = locked_dropout(F.embedding(ids, weight, padding_idx=PAD), self.p["input"], self.training)
        rows = ids.size(0)
        if self.state is None or self.state[0][0].size(1) != rows:
            old = self.state
            self.state = []
            for l, (_, h) in enumerate(self.sizes):
                hs, cs = x.new_zeros(1, rows, h, dtype=torch.float32), x.new_zeros(1, rows, h, dtype=torch.float32)
                if old is not None:                      # rows joining (classifier): zero-extended, the first kept
                    keep = min(rows, old[l][0].size(1))
                    hs[:, :keep], cs[:, :keep] = old[l][0][:, :keep], old[l][1][:, :keep]
                self.state.append((hs, cs))
        new_state = []
        for l, layer in enumerate(self.rnns):
            w_hh = F.dropout(layer.w_hh, self.p["weight"], self.training)
            h0, c0 = self.state[l]
            x, h, c = torch._VF.lstm(x, (h0.to(x.dtype), c0.to(x.dtype)), [layer.w_ih, w_hh, layer.b_ih, layer.b_hh],
                                     True, 1, 0.0, self.training, False, True)
            new_state.append((h.detach().float(), c.detach().float()))
            raw = x
            if l < len(self.rnns) - 1:
                x = locked_dropout(x, self.p["hidden"], self.training)
        self.state = new_state
        return raw


class LanguageModel(torch.nn.Module):
    def __init__(self, vocab, emb, hidden, layers, drop_mult):
        super().__init__()
        self.encoder = Encoder(vocab, emb, hidden, layers, {k: v * drop_mult for k, v in LM_DROPOUTS.items()})
        self.decoder_bias = torch.nn.Parameter(torch.zeros(vocab))
        self.output_p = LM_DROPOUTS["output"] * drop_mult

    def groups(self):   # fastai awd_lstm_lm_split: [rnn0], [rnn1], [rnn2], [embedding + decoder]
        return [list(r.parameters()) for r in self.encoder.rnns] + [[self.encoder.embedding.weight, self.decoder_bias]]

    def forward(self, ids):
        raw = self.encoder(ids)
        dropped = locked_dropout(raw, self.output_p, self.training)
        return F.linear(dropped, self.encoder.embedding.weight.to(dropped.dtype), self.decoder_bias.to(dropped.dtype)), raw, dropped


class Classifier(torch.nn.Module):
    def __init__(self, vocab, emb, hidden, layers, drop_mult, classes, bptt):
        super().__init__()
        p = {k: v * drop_mult for k, v in CLAS_DROPOUTS.items()}
        self.encoder = Encoder(vocab, emb, hidden, layers, p)
        self.bptt = bptt
        dims, ps = [3 * emb, 50, classes], [p["output"], 0.1]
        blocks = []
        for i in range(len(dims) - 1):
            bn = torch.nn.BatchNorm1d(dims[i])
            bn.weight.data.fill_(1.0)
            bn.bias.data.fill_(1e-3)
            block = [bn, torch.nn.Dropout(ps[i]), torch.nn.Linear(dims[i], dims[i + 1], bias=False)]
            if i < len(dims) - 2:
                block.append(torch.nn.ReLU(inplace=True))
            blocks += block
        self.head = torch.nn.Sequential(*blocks)

    def groups(self):   # fastai awd_lstm_clas_split: [embedding], [rnn0], [rnn1], [rnn2], [head]
        return [[self.encoder.embedding.weight]] + [list(r.parameters()) for r in self.encoder.rnns] + [list(self.head.parameters())]

    def forward(self, ids):
        rows, width = ids.shape
        mask = ids.eq(PAD)
        first = (~mask).float().argmax(1)            # padding first: the column where each row's text starts
        self.encoder.reset()
        outputs = []
        for start in range(0, width, self.bptt):
            end = min(width, start + self.bptt)
            started = int((first < end).sum())       # rows are sorted longest first: a prefix has started
            if started == 0:
                outputs.append(ids.new_zeros(rows, end - start, self.encoder.sizes[-1][1], dtype=torch.float32))
                continue
            out = self.encoder(ids[:started, start:end]).float()
            if started < rows:
                out = F.pad(out, (0, 0, 0, 0, 0, rows - started))
            outputs.append(out)
        out = torch.cat(outputs, 1)
        keep = (~mask).unsqueeze(2).float()
        lengths = keep.sum(1).clamp(min=1)
        last = out[:, -1]                                                     # padding first: the last column is text
        mx = out.masked_fill(mask.unsqueeze(2), float("-inf")).max(1)[0]
        avg = (out * keep).sum(1) / lengths
        return self.head(torch.cat([last, mx, avg], 1)), out


def cosine(a, b, p):
    return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2


def fit_one_cycle(model, groups, batches_fn, epochs, lrs, loss_fn, precision, validate=None, pct=0.25, div=25, div_final=1e5):
    """fastai fit_one_cycle over parameter groups (lrs: one max lr per group), AdamW (wd 0.01, none on 1-d params)."""
    param_groups = []
    for params, lr in zip(groups, lrs):
        trainable = [p for p in params if p.requires_grad]
        decay = [p for p in trainable if p.dim() > 1]
        no_decay = [p for p in trainable if p.dim() <= 1]
        param_groups += [{"params": decay, "weight_decay": 0.01, "max_lr": lr}, {"params": no_decay, "weight_decay": 0.0, "max_lr": lr}]
    param_groups = [g for g in param_groups if g["params"]]
    optimizer = torch.optim.AdamW(param_groups, lr=1e-3, betas=(0.9, 0.99), eps=1e-5)
    total = epochs * len(batches_fn(0)[:MAX_BATCHES])
    it = 0
    history = []
    for epoch in range(epochs):
        model.train()
        for x, y in batches_fn(epoch)[:MAX_BATCHES]:
            pos = it / total
            if pos < pct:
                f, mom = cosine(1 / div, 1, pos / pct), cosine(0.8, 0.7, pos / pct)
            else:
                f, mom = cosine(1, 1 / div_final, (pos - pct) / (1 - pct)), cosine(0.7, 0.8, (pos - pct) / (1 - pct))
            for g in optimizer.param_groups:
                g["lr"], g["betas"] = g["max_lr"] * f, (mom, 0.99)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = loss_fn(model, x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            it += 1
        if validate is not None:
            history.append(validate())
    return history


def lm_batches(stream, bs, bptt):
    row = (len(stream) - 1) // bs
    inputs = stream[: bs * row].view(bs, row)
    targets = stream[1: bs * row + 1].view(bs, row)
    return [(inputs[:, i:i + bptt], targets[:, i:i + bptt]) for i in range(0, row, bptt)]


def lm_loss(model, x, y):
    logits, raw, dropped = model(x)
    loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
    return loss + ALPHA * dropped.float().pow(2).mean() + BETA * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()


@torch.no_grad()
def lm_validate(model, batches, precision):
    model.eval()
    model.encoder.reset()
    total, count = 0.0, 0
    for x, y in batches[:MAX_BATCHES]:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits, _, _ = model(x)
        total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.encoder.reset()
    return total / count


def classifier_batches(docs, labels, bs, order, seed_epoch=None):
    """SortedDL: training = megabatches of 50·bs sorted longest first, the longest batch first, the rest shuffled;
    validation = all sorted longest first. Rows padded at the front."""
    index = list(range(len(docs)))
    if seed_epoch is not None:
        rng = random.Random(seed_epoch)
        rng.shuffle(index)
        mega = 50 * bs
        index = sum((sorted(index[i:i + mega], key=lambda d: -len(docs[d])) for i in range(0, len(index), mega)), [])
    else:
        index.sort(key=lambda d: -len(docs[d]))
    batches = [index[i:i + bs] for i in range(0, len(index), bs)]
    if seed_epoch is not None and len(batches) > 2:
        longest = max(range(len(batches)), key=lambda b: len(docs[batches[b][0]]))
        batches.insert(0, batches.pop(longest))
        rest = batches[1:]
        random.Random(seed_epoch + 1).shuffle(rest)
        batches = batches[:1] + rest
    out = []
    for b in batches:
        width = max(len(docs[d]) for d in b)
        ids = torch.full((len(b), width), PAD, dtype=torch.int64)
        for r, d in enumerate(b):
            ids[r, width - len(docs[d]):] = docs[d]
        out.append((ids, torch.tensor([labels[d] for d in b])))
    return out


def classifier_loss(model, x, y):
    logits, out = model(x)
    loss = F.cross_entropy(logits.float(), y)
    return loss + ALPHA * out.pow(2).mean() + BETA * (out[:, 1:] - out[:, :-1]).pow(2).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--data", default=os.path.join(HERE, ".data", "ulmfit"))
    parser.add_argument("--max-batches", type=int, default=None, help="smoke test: at most this many batches per epoch")
    parser.add_argument("--classifier-seeds", default=None, help="comma-separated classifier training seeds (default: one run, no reseeding)")
    parser.add_argument("--lm-state", default=None, help="fine-tuned language model: loaded if the file exists, else saved there")
    args = parser.parse_args()
    global MAX_BATCHES
    MAX_BATCHES = args.max_batches
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    recipe = json.load(open(os.path.join(args.data, "recipe.json")))

    def load(name, kind):
        path = os.path.join(args.data, f"{name}.{kind}.i64")
        return torch.from_file(path, size=os.path.getsize(path) // 8, dtype=torch.int64)

    def documents(name):
        ids, lengths = load(name, "ids"), load(name, "lengths").tolist()
        offsets = [0]
        for n in lengths:
            offsets.append(offsets[-1] + n)
        return [ids[offsets[i]:offsets[i + 1]] for i in range(len(lengths))], load(name, "labels").tolist()

    brown_vocab = json.load(open(os.path.join(args.data, "brown.vocab.json")))
    mail_vocab = json.load(open(os.path.join(args.data, "mails.vocab.json")))
    emb, hidden, layers = recipe["embedding"], recipe["hidden"], recipe["layers"]
    bs, bptt, dm = recipe["lm_batch"], recipe["lm_bptt"], recipe["lm_drop_mult"]
    result = {"system": "pytorch", "version": torch.__version__, "precision": args.precision, "threads": args.threads, "stages": {}}

    mails_train, train_labels = documents("mails-train")
    mails_valid, valid_labels = documents("mails-valid")
    if args.lm_state and os.path.exists(args.lm_state):
        saved = torch.load(args.lm_state)
        if saved["precision"] != args.precision or saved["data"] != os.path.abspath(args.data):
            raise SystemExit(f"{args.lm_state} was trained with {saved['precision']} on {saved['data']}")
        tuned = LanguageModel(len(mail_vocab), emb, hidden, layers, dm)
        tuned.load_state_dict(saved["state"])
        result["stages"].update(saved["stages"])
        result["lm_state"] = f"loaded from {args.lm_state}"
    else:
        tuned = language_models(args, recipe, documents, brown_vocab, mail_vocab, mails_train, mails_valid, result)
        if args.lm_state:
            torch.save({"state": tuned.state_dict(), "stages": result["stages"], "precision": args.precision,
                        "data": os.path.abspath(args.data)}, args.lm_state + ".tmp")
            os.replace(args.lm_state + ".tmp", args.lm_state)
            result["lm_state"] = f"saved to {args.lm_state}"

    # 3. Classifier with gradual unfreezing: once (the RNG goes on from the language-model stages), or once per seed.
    if args.classifier_seeds is None:
        result["stages"]["classifier"] = classifier_stage(args, recipe, tuned, mail_vocab, mails_train, train_labels, mails_valid, valid_labels, None)
    else:
        per_seed = []
        for seed in [int(s) for s in args.classifier_seeds.split(",") if s.strip()]:
            line = dict(seed=seed, threads=args.threads, **classifier_stage(args, recipe, tuned, mail_vocab, mails_train, train_labels, mails_valid, valid_labels, seed))
            per_seed.append(line)
            print("SEED " + json.dumps(line), flush=True)
        result["classifier_seeds"] = per_seed
        result["stages"]["classifier"] = {k: sum(p[k] for p in per_seed) / len(per_seed) for k in ("seconds", "accuracy")}
    result["test_documents"] = len(valid_labels)
    print("RESULT " + json.dumps(result), flush=True)


def language_models(args, recipe, documents, brown_vocab, mail_vocab, mails_train, mails_valid, result):
    """Stages 1 and 2: the Brown language model, then the mail language model from it; returns the fine-tuned model."""
    emb, hidden, layers = recipe["embedding"], recipe["hidden"], recipe["layers"]
    bs, bptt, dm = recipe["lm_batch"], recipe["lm_bptt"], recipe["lm_drop_mult"]
    # 1. Pretrain on Brown.
    clock = time.perf_counter()
    brown_train = torch.cat(documents("brown-train")[0])
    brown_valid = lm_batches(torch.cat(documents("brown-valid")[0]), bs, bptt)
    general = LanguageModel(len(brown_vocab), emb, hidden, layers, dm)
    train_batches = lm_batches(brown_train, bs, bptt)

    def reset_and(batches):
        def fn(epoch):
            general_or_tuned.encoder.reset()
            return batches
        return fn

    general_or_tuned = general
    losses = fit_one_cycle(general, [sum(general.groups(), [])], reset_and(train_batches), recipe["pretrain_epochs"],
                           [recipe["pretrain_lr"]], lm_loss, args.precision, lambda: lm_validate(general, brown_valid, args.precision))
    result["stages"]["pretrain"] = {"seconds": time.perf_counter() - clock, "valid_loss": losses[-1], "perplexity": math.exp(losses[-1])}

    # 2. Fine-tune on the mails' text (the classifier's training split), vocabulary matched.
    clock = time.perf_counter()
    tuned = LanguageModel(len(mail_vocab), emb, hidden, layers, dm)
    old = {t: i for i, t in enumerate(brown_vocab)}
    with torch.no_grad():
        sd = general.state_dict()
        tuned_sd = tuned.state_dict()
        for k, v in sd.items():
            if k not in ("encoder.embedding.weight", "decoder_bias"):
                tuned_sd[k].copy_(v)
        mean_row, mean_bias = sd["encoder.embedding.weight"].mean(0), sd["decoder_bias"].mean()
        for i, t in enumerate(mail_vocab):
            j = old.get(t)
            tuned_sd["encoder.embedding.weight"][i] = sd["encoder.embedding.weight"][j] if j is not None else mean_row
            tuned_sd["decoder_bias"][i] = sd["decoder_bias"][j] if j is not None else mean_bias
    mail_batches = lm_batches(torch.cat(mails_train), bs, bptt)
    mail_valid = lm_batches(torch.cat(mails_valid), bs, bptt)
    general_or_tuned = tuned
    groups = tuned.groups()
    for params in groups[:-1]:                       # freeze(): only embedding + decoder train
        for p in params:
            p.requires_grad_(False)
    fit_one_cycle(tuned, groups, reset_and(mail_batches), recipe["finetune_frozen_epochs"], [recipe["finetune_frozen_lr"]] * len(groups),
                  lm_loss, args.precision)
    for p in tuned.parameters():
        p.requires_grad_(True)
    losses = fit_one_cycle(tuned, groups, reset_and(mail_batches), recipe["finetune_epochs"], [recipe["finetune_lr"]] * len(groups),
                           lm_loss, args.precision, lambda: lm_validate(tuned, mail_valid, args.precision))
    result["stages"]["fine-tune"] = {"seconds": time.perf_counter() - clock, "valid_loss": losses[-1], "perplexity": math.exp(losses[-1])}
    return tuned


def classifier_stage(args, recipe, tuned, mail_vocab, mails_train, train_labels, mails_valid, valid_labels, seed):
    """Stage 3 from the fine-tuned encoder. seed None: the RNG as it is and the shuffles of seed_epoch 1000·phase + epoch
    (the single run); a seed reseeds torch and offsets every shuffle seed by 1,000,000·seed."""
    emb, hidden, layers = recipe["embedding"], recipe["hidden"], recipe["layers"]
    shuffle_base = 0
    if seed is not None:
        torch.manual_seed(seed)
        shuffle_base = 1_000_000 * seed
    clock = time.perf_counter()
    cbs = recipe["classifier_batch"]
    model = Classifier(len(mail_vocab), emb, hidden, layers, recipe["classifier_drop_mult"], len(recipe["classes"]), recipe["classifier_bptt"])
    with torch.no_grad():
        encoder_sd = {k[len("encoder."):]: v for k, v in tuned.state_dict().items() if k.startswith("encoder.")}
        model.encoder.load_state_dict(encoder_sd)
    valid_batches = classifier_batches(mails_valid, valid_labels, cbs, "sorted")
    groups = model.groups()
    for s, (freeze_to, epochs, lr) in enumerate(recipe["classifier_stages"]):
        first_trainable = len(groups) + freeze_to if freeze_to < 0 else 0
        for g, params in enumerate(groups):
            for p in params:
                p.requires_grad_(g >= first_trainable)
        if s == 0:
            lrs = [lr] * len(groups)
        else:                                        # slice(lr/2.6^4, lr): geometric over the groups
            lrs = [lr / 2.6 ** 4 * (2.6 ** 4) ** (g / (len(groups) - 1)) for g in range(len(groups))]
        fit_one_cycle(model, groups, lambda epoch, s=s: classifier_batches(mails_train, train_labels, cbs, "sorted", shuffle_base + 1000 * s + epoch),
                      epochs, lrs, classifier_loss, args.precision)
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in valid_batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                logits, _ = model(x)
            correct += int((logits.float().argmax(1) == y).sum())
    return {"seconds": time.perf_counter() - clock, "accuracy": correct / len(valid_labels)}


if __name__ == "__main__":
    main()
