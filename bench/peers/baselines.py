#!/usr/bin/env python3
"""The engine's bag-of-n-grams baselines against the libraries users would pick (issue 17), on identical inputs.

Reads the subsets the benchmark run wrote (one `<size>-<seed>.train.tsv` per point and `valid.tsv`; each line
`label<TAB>t12 t7 t90 ...`, the engine's token ids spelled as words, so every library sees the very same tokens) and
prints one JSON object: for each point, the validation accuracy of
  - scikit-learn TfidfVectorizer(ngram_range=(1, 2)) + LinearSVC() (defaults: C=1, squared hinge, tol 1e-4),
  - the same features + LogisticRegression() (defaults: C=1, lbfgs),
  - the fastText command line (`fasttext supervised`, Debian's package) with the engine's fastText-style settings
    (-dim 50 -epoch 25 -lr 0.5 -wordNgrams 2 -bucket 262144 -minCount 1 -thread 1), when it is installed,
and the seconds each took. Run by `--run baselines` in bench/FastText.Benchmarks; not meant to be run alone.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def read(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            labels.append(label)
            texts.append(text)
    return labels, texts


def sklearn_points(train, valid):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    out = {}
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", lowercase=False)
    x_train = vectorizer.fit_transform(train[1])
    x_valid = vectorizer.transform(valid[1])
    features = time.perf_counter() - start
    for name, model in (("sklearn_svm", LinearSVC()), ("sklearn_lr", LogisticRegression(max_iter=1000))):
        start = time.perf_counter()
        model.fit(x_train, train[0])
        accuracy = float((model.predict(x_valid) == valid[0]).mean())
        out[name] = {"accuracy": accuracy, "seconds": features + time.perf_counter() - start}
    return out


def fasttext_point(binary, train_path, valid):
    with tempfile.TemporaryDirectory() as work:
        train_file = os.path.join(work, "train.txt")
        with open(train_path, encoding="utf-8") as f, open(train_file, "w", encoding="utf-8") as g:
            for line in f:
                label, _, text = line.rstrip("\n").partition("\t")
                g.write(f"__label__{label} {text}\n")
        valid_file = os.path.join(work, "valid.txt")
        with open(valid_file, "w", encoding="utf-8") as g:
            for text in valid[1]:
                g.write(text + "\n")
        model = os.path.join(work, "model")
        start = time.perf_counter()
        subprocess.run([binary, "supervised", "-input", train_file, "-output", model, "-dim", "50", "-epoch", "25",
                        "-lr", "0.5", "-wordNgrams", "2", "-bucket", "262144", "-minCount", "1", "-thread", "1",
                        "-verbose", "0"], check=True)
        predicted = subprocess.run([binary, "predict", model + ".bin", valid_file], check=True,
                                   capture_output=True, text=True).stdout.split("\n")
        seconds = time.perf_counter() - start
    hits = sum(p.strip() == f"__label__{label}" for p, label in zip(predicted, valid[0]))
    return {"accuracy": hits / len(valid[0]), "seconds": seconds}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    import numpy as np

    labels, texts = read(os.path.join(args.data, "valid.tsv"))
    valid = (np.array(labels), texts)
    binary = shutil.which("fasttext")
    result = {}
    for name in sorted(os.listdir(args.data)):
        if not name.endswith(".train.tsv"):
            continue
        point = name[: -len(".train.tsv")]
        labels, texts = read(os.path.join(args.data, name))
        result[point] = sklearn_points((np.array(labels), texts), valid)
        if binary:
            result[point]["fasttext_cli"] = fasttext_point(binary, os.path.join(args.data, name), valid)
        print(f"baselines.py: {point} done", file=sys.stderr)
    import sklearn
    json.dump({"sklearn": sklearn.__version__, "fasttext": binary, "points": result}, sys.stdout)


if __name__ == "__main__":
    main()
