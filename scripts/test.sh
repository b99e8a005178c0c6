#!/usr/bin/env bash
# The README's test command (and CI's): restores, builds Release, runs the xunit suite (1 torch thread), then the
# epoch-time regression checks on their own (nothing else running beside them), and ends with the line
# "N passed, N failed" over both. Everything needed comes from NuGet; the native fix is applied by the build itself.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export FASTTEXT_TORCH_THREADS=1

# The explanation page's test opens the page in a real headless browser: Debian's chromium, installed here if missing.
if ! [ -x /usr/bin/chromium ]; then
  apt=apt-get; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && apt="sudo apt-get"
  { $apt install -y chromium || { $apt update && $apt install -y chromium; }; } >/dev/null 2>&1 \
    || echo "could not install chromium: the page test (AttributionPageTests) will fail"
fi

dotnet build FastText.Engine.sln -c Release -nologo -v:minimal || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
total_passed=0; total_failed=0

# run_tests NAME [dotnet test args…]: runs, then adds the trx counters to the totals.
run_tests() {
  local name=$1; shift
  dotnet test tests/FastText.Engine.Tests -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
  local status=$? trx="$results/$name.trx" passed=0 failed=0 skipped=0
  if [ -f "$trx" ]; then
    local counters; counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    failed=$(( $(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters") + $(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters") ))
    skipped=$(( $(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters") - $(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters") ))
  fi
  [ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1   # a crashed test host is a failure too
  echo "$name: $passed passed, $failed failed, ${skipped:-0} skipped"
  total_passed=$(( total_passed + passed )); total_failed=$(( total_failed + failed ))
}

# 1. The suite. The epoch-time checks skip themselves here (FASTTEXT_EPOCH_CHECK unset) because test classes run in
#    parallel and a timing measured beside another test is noise.
run_tests suite "$@"
# 2. The epoch-time regression checks (language model and classifier), alone, against perf-results/*EpochTimeRegression.json.
if [ $# -eq 0 ]; then
  FASTTEXT_EPOCH_CHECK=1 run_tests epoch-checks --filter "FullyQualifiedName~EpochTimeRegression"
fi

echo "${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ]
