#!/usr/bin/python3
"""WordNet 3.0 synonym table for EDA augmentation (issue 17.3): one line per word, `word<TAB>synonym synonym ...`.

Reads the four data files (data.noun, data.verb, data.adj, data.adv) of Debian's wordnet-base and writes every
single-word lemma (lowercase letters only, as the engine's tokenizer produces words) with the other single-word lemmas
of all its synsets, sorted, gzip-compressed with a fixed timestamp so a rebuild gives the same bytes.
Usage: wordnet_synonyms.py WORDNET_DIR OUTPUT.tsv.gz
"""
import gzip
import os
import re
import sys

WORD = re.compile(r"^[a-z]+$")


def synsets(path):
    with open(path, encoding="latin-1") as data:
        for line in data:
            if line.startswith("  "):          # the licence header
                continue
            fields = line.split(" ")
            count = int(fields[3], 16)          # w_cnt, two hex digits
            lemmas = fields[4:4 + 2 * count:2]  # word, lex_id pairs
            # Adjectives may carry a syntactic marker: "able(p)".
            yield {re.sub(r"\(.*\)$", "", lemma).lower() for lemma in lemmas}


def main(folder, output):
    table = {}
    for part in ("noun", "verb", "adj", "adv"):
        for lemmas in synsets(os.path.join(folder, "data." + part)):
            words = sorted(w for w in lemmas if WORD.match(w))
            for word in words:
                table.setdefault(word, set()).update(w for w in words if w != word)
    temporary = output + ".tmp"
    with open(temporary, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
            for word in sorted(table):
                if table[word]:
                    out.write(f"{word}\t{' '.join(sorted(table[word]))}\n".encode("ascii"))
    os.replace(temporary, output)
    print(f"{sum(1 for w in table if table[w]):,} words with synonyms -> {output}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
