"""The PyTorch peer of the engine's AWD-LSTM language-model step (issue 14), in plain PyTorch.

Same model as the engine's (fastai's AWD_LSTM, drop_mult 1.0): embedding with embedding dropout 0.02, locked input
dropout 0.25, one single-layer LSTM per layer whose hidden-to-hidden matrix is DropConnect-ed (0.2) on every call (as
fastai's WeightDropout does, through the functional LSTM), locked dropout 0.15 between layers and 0.1 on the output,
a decoder tied to the embedding with a bias, AR 2 / TAR 1, Adam with decoupled weight decay 0.01 (betas 0.9/0.99 ->
beta1 scheduled, eps 1e-5), fastai's one-cycle (lr 1e-2, pct 0.25, div 25, div_final 1e5, moms 0.8/0.7/0.8), state
carried between batches, detached. Same data: the engine's Brown id stream (bench/peers/.data), cut into `bs` rows and
read `bptt` columns at a time, targets shifted by one.

Usage: python3 pytorch_lm.py --shape peer|small|fastai --threads N [--precision fp32|bf16] [--batches 60] [--warmup 5]
Prints one line `RESULT {json}`. bf16 is torch.autocast('cpu', bfloat16) around the forward (PyTorch 1.13's CPU
mixed precision); fp32 is the default, as in fastai.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = {
    "peer": (128, 384, 3, 32, 70),
    "small": (64, 256, 3, 32, 64),
    "fastai": (400, 1152, 3, 64, 70),
}
OUTPUT_P, HIDDEN_P, INPUT_P, EMBED_P, WEIGHT_P = 0.1, 0.15, 0.25, 0.02, 0.2
ALPHA, BETA = 2.0, 1.0


def locked_dropout(x, p, training):
    if not training or p == 0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p).div_(1 - p)
    return x * mask


class AwdLstm(torch.nn.Module):
    def __init__(self, vocab, emb, hidden, layers):
        super().__init__()
        self.encoder = torch.nn.Embedding(vocab, emb, padding_idx=1)
        self.encoder.weight.data.uniform_(-0.1, 0.1)
        self.sizes = [(emb if l == 0 else hidden, emb if l == layers - 1 else hidden) for l in range(layers)]
        self.w_ih = torch.nn.ParameterList()
        self.w_hh = torch.nn.ParameterList()
        self.b_ih = torch.nn.ParameterList()
        self.b_hh = torch.nn.ParameterList()
        for i, h in self.sizes:
            bound = 1 / math.sqrt(h)
            self.w_ih.append(torch.nn.Parameter(torch.empty(4 * h, i).uniform_(-bound, bound)))
            self.w_hh.append(torch.nn.Parameter(torch.empty(4 * h, h).uniform_(-bound, bound)))
            self.b_ih.append(torch.nn.Parameter(torch.empty(4 * h).uniform_(-bound, bound)))
            self.b_hh.append(torch.nn.Parameter(torch.empty(4 * h).uniform_(-bound, bound)))
        self.decoder_bias = torch.nn.Parameter(torch.zeros(vocab))
        self.state = None

    def forward(self, ids):
        weight = self.encoder.weight
        if self.training and EMBED_P > 0:
            mask = weight.new_empty(weight.size(0), 1).bernoulli_(1 - EMBED_P).div_(1 - EMBED_P)
            weight = weight * mask
        x = F.embedding(ids, weight, padding_idx=1)
        x = locked_dropout(x, INPUT_P, self.training)
        batch = ids.size(0)
        if self.state is None:
            self.state = [(x.new_zeros(1, batch, h), x.new_zeros(1, batch, h)) for _, h in self.sizes]
        new_state = []
        for l in range(len(self.sizes)):
            w_hh = F.dropout(self.w_hh[l], WEIGHT_P, self.training)
            h0, c0 = self.state[l]
            x, h, c = torch._VF.lstm(x, (h0, c0), [self.w_ih[l], w_hh, self.b_ih[l], self.b_hh[l]],
                                     True, 1, 0.0, self.training, False, True)
            new_state.append((h.detach(), c.detach()))
            raw = x
            if l < len(self.sizes) - 1:
                x = locked_dropout(x, HIDDEN_P, self.training)
        self.state = new_state
        dropped = locked_dropout(raw, OUTPUT_P, self.training)
        logits = F.linear(dropped, self.encoder.weight, self.decoder_bias)
        return logits, raw, dropped


def cosine(start, end, progress):
    return start + (1 + math.cos(math.pi * (1 - progress))) * (end - start) / 2


def one_cycle(position, lr_max=1e-2, pct=0.25, div=25, div_final=1e5, moms=(0.8, 0.7)):
    if position < pct:
        p = position / pct
        return cosine(lr_max / div, lr_max, p), cosine(moms[0], moms[1], p)
    p = (position - pct) / (1 - pct)
    return cosine(lr_max, lr_max / div_final, p), cosine(moms[1], moms[0], p)


def sgemm_gflops():
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    times = []
    for i in range(6):
        t = time.perf_counter()
        a.mm(b)
        if i:
            times.append(time.perf_counter() - t)
    return 2 * 2048 ** 3 / sorted(times)[len(times) // 2] / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="peer", choices=SHAPES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".data"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    emb, hidden, layers, bs, bptt = SHAPES[args.shape]
    meta = json.load(open(os.path.join(args.data, "brown-ids.json")))
    stream = torch.from_file(os.path.join(args.data, "brown-ids.i64"), size=meta["tokens"], dtype=torch.int64)
    row = (stream.numel() - 1) // bs
    total = args.warmup + args.batches
    if (row + bptt - 1) // bptt < total:
        sys.exit(f"the stream gives fewer than {total} batches of {bs} x {bptt}")
    inputs = stream[: bs * row].view(bs, row)
    targets = stream[1: bs * row + 1].view(bs, row)

    model = AwdLstm(meta["vocabulary"], emb, hidden, layers)
    decay = [p for n, p in model.named_parameters() if n != "decoder_bias"]
    optimizer = torch.optim.AdamW([{"params": decay}, {"params": [model.decoder_bias], "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    model.train()
    times = []
    for b in range(total):
        if b == args.warmup:
            start = resource.getrusage(resource.RUSAGE_SELF)
        lr, mom = one_cycle(b / total)
        for group in optimizer.param_groups:
            group["lr"], group["betas"] = lr, (mom, 0.99)
        x = inputs[:, b * bptt:(b + 1) * bptt]
        y = targets[:, b * bptt:(b + 1) * bptt]
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits, raw, dropped = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
        loss = loss + ALPHA * dropped.float().pow(2).mean() + BETA * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append((time.perf_counter() - t) * 1000)
    end = resource.getrusage(resource.RUSAGE_SELF)
    timed = times[args.warmup:]
    wall = sum(timed) / 1000
    print("RESULT " + json.dumps({
        "system": "pytorch",
        "version": torch.__version__,
        "precision": args.precision,
        "shape": args.shape,
        "threads": args.threads,
        "vocabulary": meta["vocabulary"],
        "batches": args.batches,
        "tokens_per_second": args.batches * bs * bptt / wall,
        "ms_per_batch_median": sorted(timed)[len(timed) // 2],
        "ms_per_batch": timed,
        "user_seconds": end.ru_utime - start.ru_utime,
        "system_seconds": end.ru_stime - start.ru_stime,
        "wall_seconds": wall,
        "minor_faults": end.ru_minflt - start.ru_minflt,
        "sgemm_gflops": sgemm_gflops(),
        "final_loss": float(loss),
    }))


if __name__ == "__main__":
    main()
