#!/usr/bin/env bash
# Builds a general-English pretraining corpus (the role WikiText-103 plays for ULMFiT) from freely
# licensed Debian packages: dictionaries (GCIDE, WordNet, FOLDOC, Jargon File, Devil's Dictionary),
# the King James Bible and the prose of a dozen documentation packages.
#
#   scripts/build-english-corpus.sh [OUT_DIR]        (default .data/english, git-ignored)
#
# Writes OUT_DIR/<source>.txt in the engine's "lines" format (one document per line, read with
# `fasttext tokenize --format lines`) and OUT_DIR/SOURCES.md (package versions, licences, counts).
# Needs only apt (packages are fetched with `apt-get download` into a temporary folder and unpacked
# with dpkg-deb, nothing is installed), /usr/bin/python3 and perl. Deterministic: a rerun with the
# same package versions writes the same bytes. The conversion code is in scripts/english-corpus/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$repo/.data/english}
convert=(nice -n 10 /usr/bin/python3 "$here/english-corpus/convert.py")
pod2para=(nice -n 10 perl "$here/english-corpus/pod2para.pl")
export LC_ALL=C.UTF-8 PYTHONHASHSEED=0

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/english-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$work"
mkdir -p "$work/debs" "$work/root"
started=$(date +%s)

# fetch PKG...: downloads and unpacks each package into $work/root/PKG (once per run)
fetch() {
  local pkg deb
  for pkg in "$@"; do
    [ -d "$work/root/$pkg" ] && continue
    (cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null)
    deb=$(ls "$work/debs/${pkg}"_*.deb)
    mkdir -p "$work/root/$pkg"
    dpkg-deb -x "$deb" "$work/root/$pkg"
    printf '%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" >>"$work/versions.tsv"
  done
}

version() { awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$work/versions.tsv"; }

# licence PKG NEEDLE: fails unless the package's copyright file contains NEEDLE (the licence we record)
licence() {
  local file="$work/root/$1/usr/share/doc/$1/copyright"
  if ! grep -qF -- "$2" "$file"; then
    echo "licence of $1 changed: '$2' not found in its copyright file" >&2
    exit 1
  fi
}

rows=()
# record SOURCE "PKG PKG..." "LICENCE": adds a row of SOURCES.md for OUT_DIR/SOURCE.txt
record() {
  local file="$out/$1.txt" pkgs="" pkg
  for pkg in $2; do pkgs+="${pkgs:+, }$pkg $(version "$pkg")"; done
  rows+=("$1|$pkgs|$3|$(wc -l <"$file")|$(wc -w <"$file")|$(wc -c <"$file")")
  printf '%-18s %9d docs %10d words\n' "$1" "$(wc -l <"$file")" "$(wc -w <"$file")" >&2
}

# emit SOURCE COMMAND...: runs a converter into OUT_DIR/SOURCE.txt (atomically)
emit() {
  local name=$1
  shift
  "$@" >"$out/$name.txt.partial"
  mv "$out/$name.txt.partial" "$out/$name.txt"
}

html_skip='(^|/)(genindex[^/]*|py-modindex|search|searchindex)\.html$|(^|/)_(static|sources|images)/'

# html_docs SOURCE PKG NEEDLE QUOTED DIR [SKIP]: the prose of one documentation package's HTML below DIR (inside the
# package), with html_skip and the extra SKIP pattern left out, its licence checked (NEEDLE) and recorded (QUOTED)
html_docs() {
  local name=$1 pkg=$2 needle=$3 quoted=$4 dir=$5 skip=$html_skip${6:+|$6}
  fetch "$pkg"
  licence "$pkg" "$needle"
  emit "$name" "${convert[@]}" html "$work/root/$pkg/$dir" "$skip"
  record "$name" "$pkg" "$quoted"
}

# ---------------------------------------------------------------- dictionaries and the Bible
fetch dict-gcide
licence dict-gcide "GNU General Public License as published by"
d=$work/root/dict-gcide/usr/share/dictd
emit gcide "${convert[@]}" gcide "$d/gcide.dict.dz" "$d/gcide.index"
record gcide dict-gcide '"GNU General Public License … either version 2, or (at your option) any later version" (GPL-2+)'

fetch wordnet-base
licence wordnet-base "License: WordNet3.0"
emit wordnet "${convert[@]}" wordnet "$work/root/wordnet-base/usr/share/wordnet"
record wordnet wordnet-base '"WordNet3.0" (Princeton WordNet 3.0 licence, BSD-like)'

fetch bible-kjv bible-kjv-text
licence bible-kjv-text "The copyright for the King James Version text of the Bible is expired"
emit bible-kjv "${convert[@]}" bible "$work/root/bible-kjv/usr/bin/bible" "$work/root/bible-kjv-text/usr/lib"
record bible-kjv "bible-kjv bible-kjv-text" '"The copyright for the King James Version text of the Bible is expired" (public domain; the bible program: GPL-2+)'

for dict in foldoc jargon devil; do
  fetch "dict-$dict"
  d=$work/root/dict-$dict/usr/share/dictd
  emit "$dict" "${convert[@]}" dictd "$d/$dict.dict.dz" "$d/$dict.index"
done
licence dict-foldoc "GNU Free Documentation"
record foldoc dict-foldoc '"GNU Free Documentation License, Version 1.1 or any later version … with no Invariant Sections, Front- or Back-Cover Texts" (GFDL-1.1+)'
licence dict-jargon "The Jargon File is in the public domain"
record jargon dict-jargon '"The Jargon File is in the public domain"'
licence dict-devil "The Devil's Dictionary is in the public domain"
record devil dict-devil "\"The Devil's Dictionary is in the public domain\""

# ---------------------------------------------------------------- documentation (prose only)
html_docs python-docs python3.11-doc "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" '"PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" (PSF-2.0)' \
  usr/share/doc/python3.11/html \
  "^whatsnew/changelog\.html$"

fetch perl-doc
licence perl-doc "License: GPL-1+ or Artistic"
mkdir -p "$work/pod"
while IFS= read -r pod; do
  "${pod2para[@]}" "$pod" "$work/pod/$(basename "$pod" .pod).txt"
done < <(find "$work/root/perl-doc/usr/share/perl" -name '*.pod' | sort)
emit perl-docs "${convert[@]}" paras $(find "$work/pod" -name '*.txt' | sort)
record perl-docs perl-doc '"GPL-1+ or Artistic"'

html_docs postgresql-docs postgresql-doc-15 "License: PostgreSQL" '"PostgreSQL" (PostgreSQL Licence, BSD-like)' \
  usr/share/doc/postgresql-doc-15/html \
  "^(bookindex|index)\.html$"

html_docs linux-docs linux-doc-6.1 "License: GPL-2" '"GPL-2"' \
  usr/share/doc/linux-doc-6.1/html \
  "^translations/"

html_docs django-docs python-django-doc "License: BSD-3-Clause" '"BSD-3-Clause"' \
  usr/share/doc/python-django-doc/html

html_docs rust-docs rust-doc "License: MIT or Apache-2.0" '"MIT or Apache-2.0"' \
  usr/share/doc/rust-doc/html \
  "(^|/)(print|toc|404|all|settings|help)\.html$|(^|/)(src|core|alloc|proc_macro|test|implementors)/|^book/(first|second|2018)-edition/|^(guide|complement)-"

html_docs java-api-docs openjdk-17-doc "GPL2 with Classpath exception" '"GPL2 with Classpath exception"' \
  usr/share/doc/openjdk-17-jre-headless/api \
  "(^|/)(class-use|index-files)/|(^|/)(package-|overview-|allclasses|allpackages|serialized-form|deprecated-list|constant-values|help-doc|index|module-summary)"

html_docs apache-docs apache2-doc "License: Apache-2.0" '"Apache-2.0"' \
  usr/share/doc/apache2-doc/manual/en

html_docs git-docs git-doc "License: GPL-2" '"GPL-2"' \
  usr/share/doc/git-doc

html_docs sqlite-docs sqlite3-doc "License: public-domain" '"public-domain"' \
  usr/share/doc/sqlite3

html_docs debian-reference debian-reference-en "License: GPL-2+" '"GPL-2+"' \
  usr/share/debian-reference

html_docs gnu-standards gnu-standards "GNU Free Documentation License, Version 1.3" '"GNU Free Documentation License, Version 1.3 or any later version … with no Invariant Sections" (GFDL-1.3+)' \
  usr/share/doc/gnu-standards

html_docs bash-docs bash-doc "License: GPL-3+" '"GPL-3+" (Files: *)' \
  usr/share/doc/bash \
  "^examples/"

# ---------------------------------------------------------------- SOURCES.md
total_docs=0 total_words=0 total_bytes=0
{
  echo "# English pretraining corpus: sources"
  echo
  echo "Written by scripts/build-english-corpus.sh. Format: one document per line (\`fasttext tokenize --format lines\`),"
  echo "UTF-8, whitespace collapsed, documents under 20 words and exact duplicate documents dropped, long documents"
  echo "split at paragraph boundaries into pieces of about 2,000 words; dictionary entries and WordNet glosses are"
  echo "grouped into documents of about 1,000 words, the Bible has one document per chapter. Words: \`wc -w\`."
  echo
  echo "| File | Debian package (version) | Licence (quoted from its copyright file) | Documents | Words | Bytes |"
  echo "|---|---|---|---:|---:|---:|"
  for row in "${rows[@]}"; do
    IFS='|' read -r name pkgs lic docs words bytes <<<"$row"
    echo "| $name.txt | $pkgs | $lic | $docs | $words | $bytes |"
    total_docs=$((total_docs + docs)) total_words=$((total_words + words)) total_bytes=$((total_bytes + bytes))
  done
  echo "| **total** | | | **$total_docs** | **$total_words** | **$total_bytes** |"
} >"$out/SOURCES.md"

echo "wrote $out: $total_docs documents, $total_words words, $total_bytes bytes in $(($(date +%s) - started)) s" >&2
