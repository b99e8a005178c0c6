#!/usr/bin/env bash
# Regenerates the SentencePiece test fixture in tests/FastText.Engine.Tests/Fixtures/sentencepiece/: two tiny models
# trained with Debian's SentencePiece (`apt-get install -y sentencepiece`: spm_train/spm_encode/spm_decode) on
# ~400 KB of samples/brown.tar.gz, and what spm_encode/spm_decode make of the fixture sentences. The tests only
# read the committed files (CI never needs SentencePiece); run this only to rebuild them, then commit the result.
#
# Models are trained the way fastai's SentencePieceTokenizer trains (text already through fastai's rules, the nine
# special tokens as user-defined symbols with ids 0-8, <unk> at id 9, no <s>/</s>/<pad>, soft vocabulary limit):
#   unigram.model  unigram, 400 pieces, a small NFKC-like normalization table (… → ..., ligatures, full-width
#                  letters, no-break space) so the precompiled character map is exercised without the 240 KB nmt_nfkc one
#   bpe.model      BPE, 400 pieces, identity normalization
#   fastai.model   unigram, 400 pieces, the same normalization table, and the special tokens spelled the way fastai 2's
#                  SentencePieceTokenizer.train passes them: with the word-boundary mark in front (▁xxunk … ▁xxmaj), so
#                  "xxbos" after a space comes out as the single piece ▁xxbos (the models above give ▁ + xxbos)
# The training text is Brown with a shell approximation of fastai's rules (xxbos, xxmaj/xxup, lowercase); it only
# has to look like fastai's output. The fixture sentences are sentences.tsv: raw text, then the same text after our
# fastai rules (written by hand; SubwordTokenizerTests checks that FastaiTokenizer.ApplyRules still gives it).
# For each model, <model>.expected.tsv has one line per sentence: pieces, ids (spm_encode), the ids decoded and
# the pieces decoded (spm_decode), tab-separated. The output is byte-for-byte reproducible (one trainer thread, relative paths).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/FastText.Engine.Tests/Fixtures/sentencepiece
for tool in spm_train spm_encode spm_decode; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y sentencepiece" >&2; exit 2; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# ~400 KB of Brown: every fifth file, in archive order (deterministic).
mapfile -t files < <(tar tzf samples/brown.tar.gz | grep '\.txt$' | awk 'NR % 5 == 1')
tar xzf samples/brown.tar.gz -O "${files[@]}" > "$work/brown.txt"
head -c 400000 "$work/brown.txt" > "$work/raw.txt"
LC_ALL=C awk '{
  out = "xxbos"
  for (i = 1; i <= NF; i++) {
    w = $i
    if (length(w) > 1 && w ~ /^[A-Z]+$/) out = out " xxup " tolower(w)
    else if (w ~ /^[A-Z][^A-Z]*$/) out = out " xxmaj " tolower(w)
    else out = out " " tolower(w)
  }
  if (NF > 0) print out
}' "$work/raw.txt" > "$work/train.txt"

# Normalization table (hex code points, source TAB target): a few NFKC mappings.
{
  printf '2026\t2E 2E 2E\n'      # … → ...
  printf 'A0\t20\n'              # no-break space → space
  printf 'FB01\t66 69\nFB02\t66 6C\n'   # ﬁ ﬂ
  for c in $(seq 0 25); do
    printf '%X\t%X\n' $((0xFF21 + c)) $((0x41 + c))   # full-width A-Z
    printf '%X\t%X\n' $((0xFF41 + c)) $((0x61 + c))   # full-width a-z
  done
} > "$work/rules.tsv"

# Relative paths: the trainer stores them in the model, so the bytes do not depend on the temporary folder.
specials=xxunk,xxpad,xxbos,xxeos,xxfld,xxrep,xxwrep,xxup,xxmaj
common=(--input=train.txt --vocab_size=400 --character_coverage=0.99999 --unk_id=9 --pad_id=-1 --bos_id=-1
  --eos_id=-1 --hard_vocab_limit=false --minloglevel=2 --num_threads=1 --seed_sentencepiece_size=100000)
(cd "$work" && spm_train "${common[@]}" --user_defined_symbols=$specials --model_type=unigram --model_prefix=unigram --normalization_rule_tsv=rules.tsv)
(cd "$work" && spm_train "${common[@]}" --user_defined_symbols=$specials --model_type=bpe --model_prefix=bpe --normalization_rule_name=identity)
(cd "$work" && spm_train "${common[@]}" --user_defined_symbols="$(sed 's/\(^\|,\)/\1\xe2\x96\x81/g' <<<"$specials")" \
  --model_type=unigram --model_prefix=fastai --normalization_rule_tsv=rules.tsv)
cp "$work/unigram.model" "$work/bpe.model" "$work/fastai.model" "$out/"

cut -f2 "$out/sentences.tsv" > "$work/ruled.txt"
for model in unigram bpe fastai; do
  m="$out/$model.model"
  spm_encode --model="$m" --output_format=piece < "$work/ruled.txt" > "$work/pieces"
  spm_encode --model="$m" --output_format=id < "$work/ruled.txt" > "$work/ids"
  spm_decode --model="$m" --input_format=id < "$work/ids" > "$work/from-ids"
  spm_decode --model="$m" --input_format=piece < "$work/pieces" > "$work/from-pieces"
  paste "$work/pieces" "$work/ids" "$work/from-ids" "$work/from-pieces" > "$out/$model.expected.tsv"
done
spm_train --version 2>/dev/null | head -1 > "$out/VERSION" || true
ls -l "$out"
