#!/usr/bin/env bash
# The engine against plain PyTorch on this machine (issue 14): installs Debian's python3-torch and OpenBLAS if they are
# missing, builds the benchmark program, then alternates engine and PyTorch runs at the peer shape (128/384/3, bs 32),
# the small preset's model (64/256/3) and fastai's (400/1152/3, bs 64) on the Brown sample, and writes
# perf-results/PeerPyTorch.md (+ .json). About 10 minutes on 2 cores. Arguments pass through to bench/peers/compare.py
# (e.g. --shapes peer --rounds 3).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! /usr/bin/python3 -c "import torch" 2>/dev/null || ! ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
  echo "installing Debian's python3-torch and OpenBLAS (apt-get)…"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch libopenblas0-pthread >/dev/null
fi
dotnet build bench/FastText.Benchmarks -c Release -nologo -v:minimal
engine="dotnet bench/FastText.Benchmarks/bin/Release/net10.0/linux-x64/FastText.Benchmarks.dll"
# The first engine run writes the shared Brown id stream (bench/peers/.data) both sides train on.
/usr/bin/python3 bench/peers/compare.py --engine "$engine" --report perf-results/PeerPyTorch.md "$@"
