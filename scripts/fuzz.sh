#!/usr/bin/env bash
# scripts/fuzz.sh TARGET [SECONDS]: fuzzes one FastText.Fuzz target (tokenizer, weights, pickle, sentencepiece) with
# AFL++ for SECONDS (default 300), then prints executions, execs/s, corpus size, crashes and hangs from fuzzer_stats.
# Installs afl++ (apt-get) and the sharpfuzz tool if missing, builds Release, instruments FastText.Engine.dll in the
# harness's output folder. Work and findings: runs/fuzz/TARGET/ (crashes in out/default/crashes/). Reproduce a crash:
#   bench/FastText.Fuzz/bin/Release/net10.0/linux-x64/FastText.Fuzz TARGET < runs/fuzz/TARGET/out/default/crashes/id:...
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh tokenizer|weights|pickle|sentencepiece [SECONDS]}
seconds=${2:-300}
case $target in tokenizer|weights|pickle|sentencepiece) ;; *) echo "unknown target '$target'" >&2; exit 2 ;; esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export PATH="$PATH:$HOME/.dotnet/tools"

if ! command -v afl-fuzz >/dev/null; then
  apt=apt-get; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && apt="sudo apt-get"
  $apt install -y afl++ || { $apt update && $apt install -y afl++; }
fi
if ! command -v sharpfuzz >/dev/null; then
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0
fi

bin=bench/FastText.Fuzz/bin/Release/net10.0/linux-x64
# FUZZ_SKIP_BUILD=1: reuse the instrumented build (a second target fuzzed beside a running one: re-instrumenting would
# overwrite the dll that process has loaded).
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  dotnet build bench/FastText.Fuzz -c Release -nologo -v:quiet
  # Instrument a fresh copy every time (an incremental build may leave an already-instrumented dll in place).
  cp src/FastText.Engine/bin/Release/net10.0/linux-x64/FastText.Engine.dll "$bin/FastText.Engine.dll"
  sharpfuzz "$bin/FastText.Engine.dll"
fi

work=runs/fuzz/$target
rm -rf "$work"; mkdir -p "$work/seeds"
fixtures=tests/FastText.Engine.Tests/Fixtures
case $target in
  tokenizer)
    printf 'Hello World! This is a TEST.\n' > "$work/seeds/plain.txt"
    printf "I don't know &amp; <br /> wow!!!! the the the the\n" > "$work/seeds/rules.txt"
    printf 'xxbos xxmaj \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbb\xbf\x00 #tag a/b U.S. e-mail\r\n' > "$work/seeds/unicode.txt"
    printf '\xff\xfe\xc3(\xed\xa0\x80 bad utf-8\n' > "$work/seeds/invalid.bin"
    cut -f1 "$fixtures/sentencepiece/sentences.tsv" | head -3 > "$work/seeds/sentences.txt" ;;
  weights)
    "$bin/FastText.Fuzz" seed weights "$work/seeds" ;;
  pickle)
    "$bin/FastText.Fuzz" seed pickle "$work/seeds"
    cp "$fixtures/fastai_vocab.pkl" "$fixtures/engine_export_vocab.pkl" "$fixtures/fastai_lm_legacy.pth" "$work/seeds/" ;;
  sentencepiece)
    cp "$fixtures"/sentencepiece/*.model "$work/seeds/" ;;
esac

# The harness is a .NET program, not a natively instrumented binary (SharpFuzz's own shared-memory protocol).
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export FASTTEXT_TORCH_THREADS=1
mkdir -p "$work/tmp"; export TMPDIR=$PWD/$work/tmp
afl-fuzz -i "$work/seeds" -o "$work/out" -t 5000 -m none -V "$seconds" -- "$bin/FastText.Fuzz" "$target" > "$work/afl.log" 2>&1 \
  || { tail -40 "$work/afl.log"; exit 1; }

stats=$work/out/default/fuzzer_stats
stat() { sed -n "s/^$1 *: *//p" "$stats"; }
echo "target $target: ran $(( $(stat last_update) - $(stat start_time) )) s, $(stat execs_done) executions," \
  "$(stat execs_per_sec) execs/s (overall $(awk -v e="$(stat execs_done)" -v s="$(( $(stat last_update) - $(stat start_time) ))" 'BEGIN{printf "%.1f", e/(s>0?s:1)}')/s)," \
  "corpus $(stat corpus_count), crashes $(stat saved_crashes), hangs $(stat saved_hangs), stability $(stat stability)," \
  "edges $(stat edges_found)/$(stat total_edges)"
