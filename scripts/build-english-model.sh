#!/usr/bin/env bash
# Rebuilds the shipped general-English starting model (issue 17: the role fastai's WikiText-103 AWD_LSTM plays):
# assembles the English text Debian ships (scripts/build-english-corpus.sh: GCIDE, WordNet glosses, the KJV, free
# documentation; sources and licences in native-notes/english-corpus.md), tokenizes it with fastai's rules, pretrains the
# small preset's AWD-LSTM on it in bf16 with mid-epoch checkpoints (rerun the script to continue after an interruption:
# it resumes), and writes the bf16 copy that ships in samples/english-lm/.
#   bash scripts/build-english-model.sh [WORK_DIR]      (default .data/english-model; hours on 2 cores)
# Settings pass through FASTTEXT_ENGLISH_ARGS (e.g. "--pretrain-epochs 2").
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-.data/english-model}"
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/FastText.Cli -c Release -nologo -v:minimal >/dev/null
fasttext="src/FastText.Cli/bin/Release/net10.0/linux-x64/fasttext"

[ -f "$work/text/SOURCES.md" ] || bash scripts/build-english-corpus.sh "$work/text"
if [ ! -f "$work/corpus/corpus.ftc" ]; then
  # One document per line; the vocabulary is twice the small preset's so that more of a task's words find a row.
  "$fasttext" tokenize -i "$work"/text/*.txt --format lines --no-labels -o "$work/corpus" --preset small --max-vocab 30000
fi
# shellcheck disable=SC2086
"$fasttext" pretrain -c "$work/corpus" -o "$work/lm" --preset small --precision bf16 --checkpoint-every 500 --resume ${FASTTEXT_ENGLISH_ARGS:-}
rm -rf samples/english-lm
"$fasttext" compact -m "$work/lm" -o samples/english-lm
rm -f samples/english-lm/.fasttext.lock      # the claim of the folder, not part of the model
cp "$work/text/SOURCES.md" samples/english-lm/SOURCES.md
cp "$work/lm/report.md" samples/english-lm/pretraining-report.md
du -sh samples/english-lm
