"""The engine against plain PyTorch on the same machine, in one sitting (issue 14).

For each shape it alternates runs — engine fp32, PyTorch fp32, engine bf16, PyTorch bf16 (torch.autocast) — for the
given rounds, takes medians, and reports tokens/s, ms/batch, the system-CPU share, the machine's sgemm peak (the best
2048^3 product any of the processes measured: libtorch's MKL in the engine, OpenBLAS in PyTorch) and each system's
share of it (matmul FLOPs of the step / peak). It writes a markdown report and ends with one line per shape:
`engine/pytorch fp32: Rx, bf16: Rx, engine share of peak: P %` (bf16 ratio: engine bf16 / PyTorch fp32, the setting
fastai users run on a CPU; engine bf16 / PyTorch bf16 is in the table).

Usage: python3 compare.py --engine "dotnet .../FastText.Benchmarks.dll" [--shapes peer,small,fastai] [--rounds 2]
       [--report perf-results/PeerPyTorch.md]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {  # emb, hidden, layers, batch, bptt — as PeerLanguageModelRun.Shapes and pytorch_lm.SHAPES
    "peer": (128, 384, 3, 32, 70),
    "small": (64, 256, 3, 32, 64),
    "fastai": (400, 1152, 3, 64, 70),
}
# (timed batches, warm-up, rounds) per shape: fastai's shape is 14x the peer shape's work (PyTorch takes 7 s a batch),
# so it gets fewer batches and one round, to keep the whole comparison near 10 minutes.
BATCHES = {"peer": (30, 8, 2), "small": (30, 8, 2), "fastai": (6, 3, 1)}


def flops_per_token(shape, vocabulary):
    emb, hidden, layers, _, _ = SHAPES[shape]
    per = 2.0 * emb * vocabulary
    for l in range(layers):
        i = emb if l == 0 else hidden
        h = emb if l == layers - 1 else hidden
        per += 2.0 * 4 * h * (i + h)
    return 3 * per  # forward + backward


def run(command, env):
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        sys.exit(f"{' '.join(command)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1][7:])


def cpu_model():
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if not line.strip():
                break
            k, _, v = line.partition(":")
            fields[k.strip()] = v.strip()
    return f"{fields.get('model name')} (family {fields.get('cpu family')}, model {fields.get('model')}, stepping {fields.get('stepping')})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True, help="command that runs the benchmark program, e.g. 'dotnet path/FastText.Benchmarks.dll'")
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--shapes", default="peer,small,fastai")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per shape (default: 2, fastai 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report", default=None)
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    started = datetime.datetime.utcnow()
    results = {s: {"engine fp32": [], "pytorch fp32": [], "engine bf16": [], "pytorch bf16": []} for s in shapes}
    engine_env = dict(os.environ)
    # PyTorch gets OpenBLAS's own kernel choice (this machine's environment may pin OPENBLAS_CORETYPE=Haswell, which
    # halves its sgemm); the engine does not use OpenBLAS.
    pytorch_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    scaling = {}
    for shape in shapes:
        batches, warmup, rounds = BATCHES[shape]
        rounds = args.rounds or rounds
        for r in range(rounds):
            for system, precision in (("engine", "fp32"), ("pytorch", "fp32"), ("engine", "bf16"), ("pytorch", "bf16")):
                if system == "engine":
                    env = dict(engine_env, FASTTEXT_PEER_SHAPE=shape, FASTTEXT_PEER_PRECISION=precision,
                               FASTTEXT_PEER_BATCHES=str(batches), FASTTEXT_PEER_WARMUP=str(warmup))
                    command = args.engine.split() + ["--run", "peer-lm", "--threads", str(args.threads)]
                else:
                    env = pytorch_env
                    command = [args.python, os.path.join(HERE, "pytorch_lm.py"), "--shape", shape, "--threads",
                               str(args.threads), "--precision", precision, "--batches", str(batches), "--warmup", str(warmup)]
                result = run(command, env)
                results[shape][f"{system} {precision}"].append(result)
                print(f"{shape} round {r + 1}: {system} {precision}: {result['tokens_per_second']:,.0f} tok/s, "
                      f"{result['ms_per_batch_median']:,.0f} ms/batch", flush=True)
        if shape == "peer":
            # The engine on 1 thread, for its 2-thread speed-up (the 2-thread runs are the ones above).
            for precision in ("fp32", "bf16"):
                env = dict(engine_env, FASTTEXT_PEER_SHAPE=shape, FASTTEXT_PEER_PRECISION=precision,
                           FASTTEXT_PEER_BATCHES=str(batches), FASTTEXT_PEER_WARMUP=str(warmup))
                one = run(args.engine.split() + ["--run", "peer-lm", "--threads", "1"], env)
                scaling[precision] = one
                print(f"peer: engine {precision} on 1 thread: {one['tokens_per_second']:,.0f} tok/s", flush=True)

    peak = max(r["sgemm_gflops"] for s in shapes for runs in results[s].values() for r in runs)
    finished = datetime.datetime.utcnow()
    lines = [
        "# The engine against plain PyTorch, same machine, same run",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.platform()}",
        f"- measured: {started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC, {args.threads} threads, alternating rounds (peer and small: "
        f"{args.rounds or 2}, fastai: {args.rounds or 1}), medians; timed batches after warm-up: "
        + ", ".join(f"{s} {BATCHES[s][0]} after {BATCHES[s][1]}" for s in shapes),
        f"- command: `bash scripts/bench-vs-pytorch.sh` (= `python3 bench/peers/compare.py --shapes {args.shapes}`)",
        "- model: AWD-LSTM at fastai's dropouts (drop_mult 1.0), AR 2 / TAR 1, tied decoder, Adam (wd 0.01), one-cycle 1e-2; "
        "data: the shipped Brown sample through the engine's tokenizer (vocabulary min count 3), the same id stream for both",
        "- PyTorch: Debian's python3-torch " + results[shapes[0]]["pytorch fp32"][0]["version"] + " with OpenBLAS (its own kernel choice); "
        "bf16 = torch.autocast('cpu', torch.bfloat16). Engine: fp32, and bf16 (ComputePrecision.BFloat16)",
        f"- sgemm peak: {peak:,.0f} GFLOP/s (the best 2048³ product any process measured; the engine's own libtorch/MKL: "
        f"{max(r['sgemm_gflops'] for s in shapes for r in results[s]['engine fp32']):,.0f})",
        "- system share = system ÷ (user + system) CPU time over the timed batches; share of peak = matmul FLOPs of the step (forward + backward) ÷ time ÷ peak",
        "",
        "| shape | system | tok/s (runs) | median tok/s | ms/batch | system share | share of peak |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    summary = []
    for shape in shapes:
        emb, hidden, layers, batch, bptt = SHAPES[shape]
        vocabulary = results[shape]["engine fp32"][0]["vocabulary"]
        per_token = flops_per_token(shape, vocabulary)
        medians = {}
        for name, runs in results[shape].items():
            tps = [r["tokens_per_second"] for r in runs]
            medians[name] = statistics.median(tps)
            ms = statistics.median(r["ms_per_batch_median"] for r in runs)
            system = statistics.median(r["system_seconds"] / max(1e-9, r["system_seconds"] + r["user_seconds"]) for r in runs)
            share = medians[name] * per_token / 1e9 / peak
            lines.append(f"| {shape} ({emb}/{hidden}/{layers}, bs {batch}, bptt {bptt}) | {name} | "
                         f"{' / '.join(f'{t:,.0f}' for t in tps)} | {medians[name]:,.0f} | {ms:,.0f} | {100 * system:.1f} % | {100 * share:.0f} % |")
        fp32 = medians["engine fp32"] / medians["pytorch fp32"]
        bf16 = medians["engine bf16"] / medians["pytorch fp32"]
        bf16_vs_bf16 = medians["engine bf16"] / medians["pytorch bf16"]
        share = medians["engine fp32"] * per_token / 1e9 / peak
        summary.append((shape, fp32, bf16, bf16_vs_bf16, share))
    lines.append("")
    for shape, fp32, bf16, bf16_vs_bf16, share in summary:
        lines.append(f"- {shape}: engine/pytorch fp32 {fp32:.2f}×, engine bf16/pytorch fp32 {bf16:.2f}×, "
                     f"engine bf16/pytorch bf16 {bf16_vs_bf16:.2f}×, engine fp32 share of peak {100 * share:.0f} %")
    for precision, one_run in scaling.items():
        runs = results["peer"][f"engine {precision}"]
        one, two = one_run["tokens_per_second"], statistics.median(r["tokens_per_second"] for r in runs)
        # What the second core gave this machine in the same runs: a register-only FMA loop (no memory) and libtorch's
        # 2048³ sgemm, against which the engine's speed-up is to be read (the VM's vCPUs do not always give 2×).
        cores = statistics.median(r.get("core_scaling", float("nan")) for r in runs)
        sgemm = statistics.median(r["sgemm_gflops"] for r in runs) / one_run["sgemm_gflops"]
        lines.append(f"- peer: engine {precision} {args.threads}-thread speed-up over 1 thread: {two / one:.2f}× ({two:,.0f} vs "
                     f"{one:,.0f} tok/s); the machine's in the same runs: register FMA loop {cores:.2f}×, sgemm 2048³ {sgemm:.2f}×")
    lines.append("")
    lines.append("Raw results (every run's JSON, per-batch times included) are in the `.json` beside this file.")
    text = "\n".join(lines) + "\n"
    if args.report:
        tmp = args.report + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.report)
        with open(os.path.splitext(args.report)[0] + ".json.tmp", "w") as f:
            json.dump(results, f)
        os.replace(os.path.splitext(args.report)[0] + ".json.tmp", os.path.splitext(args.report)[0] + ".json")
    print(text)
    for shape, fp32, bf16, _, share in summary:
        print(f"{shape}: engine/pytorch fp32: {fp32:.2f}×, bf16: {bf16:.2f}×, engine share of peak: {100 * share:.0f} %")


if __name__ == "__main__":
    main()
