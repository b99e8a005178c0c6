#!/usr/bin/env bash
# The README's test command: restores, builds Release, runs the xunit suite (1 torch thread), and ends with the
# line "N passed, N failed". Everything needed comes from NuGet; the native fix is applied by the build itself.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export FASTTEXT_TORCH_THREADS=1

dotnet build FastText.Engine.sln -c Release -nologo -v:minimal || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
dotnet test tests/FastText.Engine.Tests -c Release --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

trx="$results/tests.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  errors=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(( ${failed:-0} + ${errors:-0} ))
else
  passed=0; failed=1
fi
[ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ] && failed=1   # a crashed test host is a failure too
echo "${passed:-0} passed, ${failed} failed"
exit "$status"
