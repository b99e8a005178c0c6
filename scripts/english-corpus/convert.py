#!/usr/bin/python3
"""Converts extracted Debian packages into the engine's "lines" corpus format.

One document per output line: a document's paragraphs are joined with single
spaces.  Used by scripts/build-english-corpus.sh; every mode writes UTF-8 lines
to stdout and is deterministic (inputs are read in sorted order).

  convert.py gcide   DICT.dz INDEX           GCIDE (dictd format), entries grouped to ~1,000 words
  convert.py dictd   DICT.dz INDEX           any other dictd dictionary (FOLDOC, Jargon, Devil's)
  convert.py wordnet WORDNET_DIR             WordNet glosses, grouped to ~1,000 words
  convert.py bible   BIBLE_BIN DATA_DIR      KJV via the `bible` program, one chapter per document
  convert.py html    ROOT [EXCLUDE_RE]       every *.html under ROOT, one page per document
  convert.py paras   FILE...                 blank-line separated paragraphs (pod2para.pl output)

Normalisation for all modes: whitespace collapsed inside a line, documents
longer than ~2,000 words split at paragraph boundaries, documents with fewer
than 20 words dropped, exact duplicate documents dropped.
"""
import gzip
import hashlib
import html
import html.parser
import os
import re
import subprocess
import sys
import unicodedata

MIN_WORDS = 20
SPLIT_WORDS = 2000
GROUP_WORDS = 1000

_seen = set()
_out = sys.stdout


def clean(text):
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Zs") else c for c in text)
    text = text.replace("\u00ad", "").replace("\ufeff", "").replace("\u200b", "")
    return " ".join(text.split())


def write_line(words):
    if len(words) < MIN_WORDS:
        return
    line = " ".join(words)
    digest = hashlib.sha1(line.encode("utf-8")).digest()
    if digest in _seen:
        return
    _seen.add(digest)
    _out.write(line + "\n")


def emit(paragraphs):
    """One document: splits it into pieces of ~SPLIT_WORDS words at paragraph boundaries."""
    piece = []
    for para in paragraphs:
        words = clean(para).split()
        if not words:
            continue
        # a single giant paragraph is cut at word boundaries
        while len(words) > SPLIT_WORDS * 3 // 2:
            if piece:
                write_line(piece)
                piece = []
            write_line(words[:SPLIT_WORDS])
            words = words[SPLIT_WORDS:]
        if piece and len(piece) + len(words) > SPLIT_WORDS:
            write_line(piece)
            piece = []
        piece.extend(words)
    if piece:
        write_line(piece)


class Grouper:
    """Consecutive small entries grouped into documents of ~GROUP_WORDS words."""

    def __init__(self):
        self.words = []

    def add(self, text):
        self.words.extend(clean(text).split())
        if len(self.words) >= GROUP_WORDS:
            self.flush()

    def flush(self):
        if self.words:
            write_line(self.words)
        self.words = []


# ---------------------------------------------------------------- dictd dictionaries

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64num(s):
    n = 0
    for c in s:
        n = n * 64 + B64.index(c)
    return n


def dictd_entries(dict_path, index_path):
    """Yields the text of each entry in file order (several headwords may share one entry)."""
    with gzip.open(dict_path, "rb") as f:
        data = f.read()
    spans = set()
    with open(index_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            spans.add((b64num(parts[1]), b64num(parts[2])))
    for off, length in sorted(spans):
        yield data[off:off + length].decode("utf-8", errors="replace")


# GCIDE's ASCII codes for accented letters, e.g. ['e] = é, [=a] = ā, [ae] = æ
ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", "\"": "\u0308", "~": "\u0303",
           "=": "\u0304", "-": "\u0304", ".": "\u0307", ",": "\u0327", "u": "\u0306"}
NAMED = {"ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "deg": "°", "frac12": "½", "frac14": "¼",
         "frac34": "¾", "eth": "ð", "thorn": "þ", "sect": "§", "pound": "£", "cent": "¢",
         "root": "√", "sharp": "♯", "flat": "♭", "min": "′", "sec": "″", "prime": "′",
         "times": "×", "divide": "÷", "middot": "·", "ntilde": "ñ", "ccedil": "ç", "ssz": "ß",
         "imac": "ī", "aum": "ä", "uum": "ü", "oum": "ö", "eum": "ë", "ium": "ï", "asl": "a",
         "add": "a", "a^": "â", "e^": "ê", "i^": "î", "o^": "ô", "u^": "û", "y^": "ŷ"}


def gcide_char(m):
    code = m.group(1)
    if code in NAMED:
        return NAMED[code]
    if len(code) == 2 and code[0] in ACCENTS and code[1].isalpha():
        return unicodedata.normalize("NFC", code[1] + ACCENTS[code[0]])
    if len(code) == 2 and code[1] in "^~" and code[0].islower():      # [e^]; not the label [R.]
        return unicodedata.normalize("NFC", code[0] + ACCENTS[code[1]])
    return m.group(0)                                              # a label like [Obs.]: dropped later


def gcide_entry(text):
    lines = text.split("\n")
    # headword line: "Absolution \\Ab`so*lu"tion\\, n. [F. absolution, ...]" -> "Absolution, n."
    head = re.sub(r"\\[^\\]*\\", "", lines[0])
    head = re.sub(r"\([^()]*[`\"?*\d][^()]*\)", "", head)        # pronunciation in parentheses
    text = head + "\n" + "\n".join(lines[1:])
    text = re.sub(r"\\[^\\\n]*\\", "", text)                      # remaining pronunciations
    text = re.sub(r"\[([^\]\s]{1,7})\]", gcide_char, text)         # ['e] [ae] [deg] ...
    # every bracket group is etymology, inflection, a usage label or a source tag ([1913 Webster])
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\[[^\[\]]*\]", "", text)
    text = text.replace("[", "").replace("]", "")
    text = re.sub(r"\s--(?=[A-Z])[^\n]*", "", text)               # citations: --Shak., --Milton.
    text = text.replace("{", "").replace("}", "").replace("\\", "").replace("*", "")
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s+([,;.:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return text


def mode_gcide(dict_path, index_path):
    mode_dictd(dict_path, index_path, clean=gcide_entry)


def plain_dictd_entry(text):
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"<(https?|ftp|mailto):[^>\s]*>", "", text)
    text = re.sub(r"\(?\b(https?|ftp)://[^\s)]*\)?\.?", "", text)      # FOLDOC's "(https://...)."
    text = re.sub(r"<[a-z][a-z, ]*>", "", text)                     # FOLDOC's subject labels: <language>
    text = re.sub(r",?\s*/[^/\s][^/\n]{0,40}[@´`·][^/\n]{0,40}/", "", text)   # Jargon's /eb's@·dik/
    text = re.sub(r"\((\d{4}-\d{2}-\d{2})\)\s*$", "", text.strip())   # FOLDOC's "(2003-11-27)"
    return text


def mode_dictd(dict_path, index_path, clean=None):
    g = Grouper()
    for entry in dictd_entries(dict_path, index_path):
        g.add((clean or plain_dictd_entry)(entry))
    g.flush()


# ---------------------------------------------------------------- WordNet

def mode_wordnet(root):
    g = Grouper()
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, "data." + pos), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue                                       # licence header
                fields, gloss = line.split(" | ", 1)
                lemma = fields.split()[4].replace("_", " ")
                lemma = re.sub(r"\([a-z]+\)$", "", lemma)           # adjective markers: (a) (p) (ip)
                gloss = gloss.strip()
                if gloss:
                    g.add(lemma + ": " + gloss + ("" if gloss.endswith((".", "!", "?", '"')) else "."))
    g.flush()


# ---------------------------------------------------------------- KJV Bible

def mode_bible(binary, data_dir):
    out = subprocess.run([binary, "-f", "-p", data_dir, "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, check=True).stdout.decode("utf-8", errors="replace")
    chapter, verses = None, []
    for line in out.splitlines():
        m = re.match(r"(\S+?):(\d+) (.*)$", line)
        if not m:
            continue
        if m.group(1) != chapter:
            if verses:
                emit([" ".join(verses)])
            chapter, verses = m.group(1), []
        verses.append(m.group(3))
    if verses:
        emit([" ".join(verses)])


# ---------------------------------------------------------------- HTML documentation

BLOCK = {"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl",
         "dt", "dd", "table", "tr", "td", "th", "caption", "blockquote", "br", "hr", "title", "figure",
         "figcaption", "header", "main", "aside", "body", "center"}
SKIP_TAGS = {"script", "style", "pre", "nav", "noscript", "svg", "math", "button", "select", "textarea",
             "object", "iframe", "form", "footer"}
SKIP_CLASSES = re.compile(r"(sphinxsidebar|wy-breadcrumbs|rst-footer-buttons|rst-versions|related|footer|navheader|navfooter|toc|breadcrumbs?|"
                          r"highlight(-[\w-]+)?|headerlink|sidebar|menu|nav|navigation|mobile-nav|"
                          r"programlisting|screen|synopsis|cmdsynopsis|funcsynopsis|literallayout|"
                          r"listingblock|literalblock|doctest|codeblock|codebox|copyright|"
                          r"toctree-wrapper|searchbox|sourcelink|skiplink|fancy_toc|"
                          r"method-summary|constructor-summary|field-summary|nested-class-summary|"
                          r"member-signature|type-signature|inheritance|inherited-list|sub-nav|top-nav|"
                          r"flex-header|rustdoc-breadcrumbs|out-of-band|src-line-numbers|example-wrap|"
                          r"sidebar-elems|search-container|page-footer|nav-chapters|nav-wrapper|"
                          r"hd|ft|global-nav|page-header|path|toplang|bottomlang|quickview|example)")  # whole class names
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr"}


class TextParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs, self.buf = [], []
        self.skip_tag, self.skip_depth = None, 0
        self.in_head = False
        self.lang = ""

    def break_para(self):
        text = "".join(self.buf).strip()
        if text:
            self.paragraphs.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag == "head":
            self.in_head = True
        if tag == "html":
            a = dict(attrs)
            self.lang = (a.get("lang") or a.get("xml:lang") or "").lower()
        if tag in VOID:
            if tag in BLOCK:
                self.break_para()
            return
        a = dict(attrs)
        cls = (a.get("class") or "") + " " + (a.get("id") or "")
        role = a.get("role") or ""
        skip_class = any(SKIP_CLASSES.fullmatch(name) for name in cls.split())
        if tag in SKIP_TAGS or skip_class or role in ("navigation", "search"):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag in BLOCK:
            self.break_para()

    def handle_startendtag(self, tag, attrs):
        if not self.skip_tag and tag in BLOCK:
            self.break_para()

    def handle_endtag(self, tag):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag == "head":
            self.in_head = False
            self.buf = []
        if tag in BLOCK:
            self.break_para()

    def handle_data(self, data):
        if not self.skip_tag and not self.in_head:
            self.buf.append(data)


def html_paragraphs(path):
    with open(path, "rb") as f:
        raw = f.read()
    p = TextParser()
    p.feed(raw.decode("utf-8", errors="replace"))
    p.close()
    p.break_para()
    if p.lang and not p.lang.startswith("en"):
        return []                                                  # a translated page
    # symbols-only fragments (pilcrows, arrows, lone punctuation) are not prose
    paragraphs = (re.sub(r"(^|\s)[¶§#](?=\s|$)", " ", t) for t in p.paragraphs)   # anchor marks
    return [t for t in paragraphs if re.search(r"[A-Za-z]{2}", t)]


def mode_html(root, exclude=None):
    rx = re.compile(exclude) if exclude else None
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            if name.endswith((".html", ".htm")):
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if not (rx and rx.search(rel)):
                    files.append(rel)
    for rel in sorted(files):
        emit(html_paragraphs(os.path.join(root, rel)))


# ---------------------------------------------------------------- paragraph files (POD)

def mode_paras(*paths):
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            emit(re.split(r"\n\s*\n", f.read()))


def main():
    sys.stdout.reconfigure(encoding="utf-8", newline="\n")
    mode, args = sys.argv[1], sys.argv[2:]
    {"gcide": mode_gcide, "dictd": mode_dictd, "wordnet": mode_wordnet, "bible": mode_bible,
     "html": mode_html, "paras": mode_paras}[mode](*args)


if __name__ == "__main__":
    main()
