#!/usr/bin/env bash
# Rebuilds samples/wordnet-synonyms.tsv.gz, the synonym table of EDA augmentation (--augment eda), from
# Debian's wordnet-base (WordNet 3.0): every single-word lemma with the other single-word lemmas of its
# synsets. Fetched with `apt-get download` into a temporary folder and unpacked with dpkg-deb (nothing is
# installed); needs /usr/bin/python3. Deterministic: the same package version gives the same bytes.
#
#   scripts/build-synonyms.sh [OUT]        (default samples/wordnet-synonyms.tsv.gz)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$repo/samples/wordnet-synonyms.tsv.gz}
work=$(mktemp -d "${TMPDIR:-/tmp}/synonyms.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root wordnet-base >/dev/null)
deb=$(ls "$work"/wordnet-base_*.deb)
dpkg-deb -x "$deb" "$work/root"
echo "wordnet-base $(dpkg-deb -f "$deb" Version)"
/usr/bin/python3 "$here/synonyms/wordnet_synonyms.py" "$work/root/usr/share/wordnet" "$out"
