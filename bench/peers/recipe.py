"""The whole ULMFiT recipe, engine against plain PyTorch, stage by stage (issue 14, item 4).

Runs `--run peer-ulmfit` (the engine; it also exports the data) and pytorch_ulmfit.py (the same recipe in PyTorch) in
turn — engine fp32, PyTorch fp32, engine bf16, PyTorch bf16 — and writes a markdown report: seconds per stage
(pretrain, fine-tune, classifier), the validation perplexities and the classifier's accuracy, and the wall-time ratios.
Takes about an hour on 2 cores (PyTorch's fp32 run is most of it).

Usage: python3 recipe.py --engine "dotnet .../FastText.Benchmarks.dll" [--report perf-results/UlmfitVsPyTorch.md]
       [--precisions fp32,bf16]
"""
import argparse
import datetime
import json
import os
from compare import run        # the same RESULT-line runner as the per-step comparison

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ("pretrain", "fine-tune", "classifier")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--report", default=None)
    args = parser.parse_args()
    started = datetime.datetime.utcnow()
    results = {}
    pytorch_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    for precision in args.precisions.split(","):
        results[f"engine {precision}"] = run(args.engine.split() + ["--run", "peer-ulmfit", "--threads", str(args.threads)],
                                             dict(os.environ, FASTTEXT_PEER_PRECISION=precision))
        print(f"engine {precision}: {json.dumps(results[f'engine {precision}']['stages'])}", flush=True)
        results[f"pytorch {precision}"] = run([args.python, os.path.join(HERE, "pytorch_ulmfit.py"), "--threads", str(args.threads),
                                               "--precision", precision], pytorch_env)
        print(f"pytorch {precision}: {json.dumps(results[f'pytorch {precision}']['stages'])}", flush=True)
    finished = datetime.datetime.utcnow()
    cpu = results[next(iter(results))].get("cpu", "")
    lines = [
        "# The whole ULMFiT recipe: engine against plain PyTorch, stage by stage",
        "",
        f"- machine: {cpu}; {args.threads} threads; measured {started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC, one run each, in turn",
        "- command: `python3 bench/peers/recipe.py --engine \"dotnet bench/FastText.Benchmarks/bin/Release/net10.0/linux-x64/FastText.Benchmarks.dll\"`",
        "- recipe: AWD-LSTM 128/384/3, LM batches 32 × 70, the small preset's data (250 Brown files, 1,800 mails capped at 1,000 tokens) "
        "and rates: Brown LM 2 epochs at 1e-2 → mail LM 1 frozen epoch at 2e-2 + 1 unfrozen at 1e-2 (from the Brown model, vocabulary "
        "matched) → classifier 1/1/1/2 epochs with gradual unfreezing (2e-2, 2e-2, 1e-2, 5e-3; 2.6× discriminative slices), bs 32, bptt 72",
        "- both read the engine's token ids (tokenizing is not timed: the engine's took under a second); perplexities are on the held-out "
        "Brown files / mails, accuracy on the held-out mails; PyTorch is Debian's python3-torch with OpenBLAS, bf16 = torch.autocast",
        "",
        "| system | " + " | ".join(f"{s} s" for s in STAGES) + " | total s | Brown perplexity | mail perplexity | accuracy |",
        "|---|" + "---:|" * (len(STAGES) + 4),
    ]
    for name, r in results.items():
        st = r["stages"]
        total = sum(st[s]["seconds"] for s in STAGES)
        lines.append(f"| {name} | " + " | ".join(f"{st[s]['seconds']:,.0f}" for s in STAGES) +
                     f" | {total:,.0f} | {st['pretrain']['perplexity']:.1f} | {st['fine-tune']['perplexity']:.1f} | {100 * st['classifier']['accuracy']:.2f} % |")
    lines.append("")
    for precision in args.precisions.split(","):
        e, p = results[f"engine {precision}"]["stages"], results[f"pytorch {precision}"]["stages"]
        te, tp = sum(e[s]["seconds"] for s in STAGES), sum(p[s]["seconds"] for s in STAGES)
        per_stage = ", ".join(f"{s} {e[s]['seconds'] / p[s]['seconds']:.2f}" for s in STAGES)
        lines.append(f"- {precision}: engine wall time {te / tp:.2f} of PyTorch's ({per_stage}); perplexity "
                     f"{100 * (e['fine-tune']['perplexity'] / p['fine-tune']['perplexity'] - 1):+.1f} % (mail LM), accuracy "
                     f"{100 * (e['classifier']['accuracy'] - p['classifier']['accuracy']):+.2f} points")
    if "engine bf16" in results and "pytorch fp32" in results:
        e, p = results["engine bf16"]["stages"], results["pytorch fp32"]["stages"]
        lines.append(f"- engine bf16 against PyTorch fp32 (what a fastai user runs on a CPU): {sum(e[s]['seconds'] for s in STAGES) / sum(p[s]['seconds'] for s in STAGES):.2f} of its wall time")
    text = "\n".join(lines) + "\n"
    if args.report:
        with open(args.report + ".tmp", "w") as f:
            f.write(text)
        os.replace(args.report + ".tmp", args.report)
        with open(os.path.splitext(args.report)[0] + ".json.tmp", "w") as f:
            json.dump(results, f)
        os.replace(os.path.splitext(args.report)[0] + ".json.tmp", os.path.splitext(args.report)[0] + ".json")
    print(text)


if __name__ == "__main__":
    main()
