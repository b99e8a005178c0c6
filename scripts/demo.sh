#!/usr/bin/env bash
# The README's main job: builds the command line in Release and runs `demo` on the shipped sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build src/FastText.Cli -c Release -nologo -v:minimal
# One glibc heap for every thread from the start, so the training thread's large blocks are kept and reused
# (native-notes/allocator.md §8); FASTTEXT_MALLOC=default keeps glibc's defaults.
if [[ "${FASTTEXT_MALLOC:-}" != "default" ]]; then
  export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.arena_max=1"
fi
exec dotnet src/FastText.Cli/bin/Release/net10.0/linux-x64/fasttext.dll demo "$@"
