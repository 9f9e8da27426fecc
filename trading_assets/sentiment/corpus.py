"""Labelled sentiment corpora: Financial PhraseBank and plain ``label,text`` CSVs.

Accepted files (SOURCES.md §D):

- ``Sentences_*.txt`` (the original PhraseBank release): one ``sentence@label`` per line,
  ISO-8859-1 encoded. Lines without ``@<label>`` (a sentence broken across lines in the
  release) are skipped and counted.
- ``*.csv`` with a header naming a label column (``label``/``sentiment``) and a text column
  (``content``/``text``/``sentence``), or without a header as ``label,text`` rows (as the
  ``all-data.csv`` copy of the PhraseBank). Read as UTF-8 with undecodable bytes read as
  ISO-8859-1 characters (two rows of ``all-data.csv`` carry such bytes).

Labels are ``negative``, ``neutral``, ``positive`` (case-insensitive in the file), or any
other value through a per-corpus label mapping (e.g. the Twitter Financial News set's ``0`` =
bearish -> ``negative``, ``1`` = bullish -> ``positive``, ``2`` -> ``neutral``).

Several corpora (one per *domain*) are configured as a list, see :func:`corpus_specs`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from trading_assets.errors import SourceDataError

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
_LABEL_COLUMNS = ("label", "sentiment", "class")
_TEXT_COLUMNS = ("content", "text", "sentence", "headline")


@dataclass(frozen=True)
class Corpus:
    """A labelled corpus.

    Attributes:
        frame: columns ``text`` (String) and ``label`` (String, one of :data:`LABELS`), in
            file order; duplicates kept (the split is stratified over them as published).
        origin: the file path.
        content_hash: SHA-256 (16 hex digits) of the file bytes.
        skipped: lines that were not ``text`` + valid label.
        domain: the corpus' domain name (e.g. ``headlines``, ``tweets``); defaults to the
            name of the file's folder.
        train_only: True for a corpus that only adds training texts to its domain (nothing
            of it is held out; its texts that match a held-out or validation text of the
            domain after normalisation are dropped), e.g. the PhraseBank sentences with
            lower annotator agreement beside the ``AllAgree`` set the domain is measured on.
    """

    frame: pl.DataFrame
    origin: str
    content_hash: str
    skipped: int = 0
    domain: str = ""
    train_only: bool = False

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].to_list()

    @property
    def labels(self) -> list[str]:
        return self.frame["label"].to_list()

    @property
    def identity(self) -> str:
        """What a model trained on this corpus depends on: ``<content hash>`` (file bytes and
        label mapping), then ``@<domain>``, then ``:train_only`` for a train-only corpus."""
        return f"{self.content_hash}@{self.domain}" + (":train_only" if self.train_only else "")


def _decode_mixed(raw: bytes) -> str:
    """UTF-8, with bytes that are not valid UTF-8 read as ISO-8859-1."""
    parts: list[str] = []
    data = raw
    while data:
        try:
            parts.append(data.decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            parts.append(data[: exc.start].decode("utf-8"))
            parts.append(data[exc.start : exc.end].decode("latin-1"))
            data = data[exc.end :]
    return "".join(parts)


def load_corpus(
    path: str | Path, labels: Mapping[str, str] | None = None, domain: str | None = None
) -> Corpus:
    """Read a labelled corpus file (formats in the module docs).

    Args:
        path: the file.
        labels: file label (as written, compared after ``strip().lower()``) -> one of
            :data:`LABELS`; None: the file holds :data:`LABELS` themselves.
        domain: the corpus' domain (default: the name of the file's folder).

    Raises:
        SourceDataError: unreadable file, no usable column layout, no labelled row, or a
            mapping onto something not in :data:`LABELS`.
    """
    file = Path(path)
    given = labels if labels is not None else {label: label for label in LABELS}
    mapping = {k.strip().lower(): v for k, v in given.items()}
    bad = sorted(set(mapping.values()) - set(LABELS))
    if bad:
        raise SourceDataError(str(file), f"label mapping onto {bad}, not one of {LABELS}")
    origin = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SourceDataError(origin, f"cannot read: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()[:16]
    texts: list[str] = []
    found: list[str] = []
    skipped = 0
    if file.suffix.lower() == ".txt":
        for line in raw.decode("latin-1").splitlines():
            sentence, sep, label = line.rpartition("@")
            label = mapping.get(label.strip().lower(), "")
            if not sep or not label or not sentence.strip():
                skipped += bool(line.strip())
                continue
            texts.append(sentence.strip())
            found.append(label)
    else:
        rows = list(csv.reader(io.StringIO(_decode_mixed(raw), newline="")))
        if not rows:
            raise SourceDataError(origin, "empty file")
        header = [c.strip().lower() for c in rows[0]]
        if header and header[0] not in mapping and len(header) >= 2:
            label_col = next((header.index(c) for c in _LABEL_COLUMNS if c in header), None)
            text_col = next((header.index(c) for c in _TEXT_COLUMNS if c in header), None)
            if label_col is None or text_col is None:
                raise SourceDataError(
                    origin,
                    f"header {rows[0]} names no label column ({', '.join(_LABEL_COLUMNS)}) "
                    f"and text column ({', '.join(_TEXT_COLUMNS)})",
                    row=1,
                )
            body = rows[1:]
        else:
            label_col, text_col, body = 0, 1, rows
        for row in body:
            if len(row) <= max(label_col, text_col):
                skipped += 1
                continue
            label = mapping.get(row[label_col].strip().lower(), "")
            text = row[text_col].strip()
            if not label or not text:
                skipped += 1
                continue
            texts.append(text)
            found.append(label)
    if not texts:
        raise SourceDataError(origin, "no labelled sentence found")
    frame = pl.DataFrame(
        {"text": texts, "label": found}, schema={"text": pl.String, "label": pl.String}
    )
    if labels is not None:  # the mapping is part of what is trained on
        digest = hashlib.sha256((digest + repr(sorted(mapping.items()))).encode()).hexdigest()[:16]
    return Corpus(
        frame=frame,
        origin=origin,
        content_hash=digest,
        skipped=skipped,
        domain=domain or file.parent.name or file.stem,
    )


@dataclass(frozen=True)
class CorpusSpec:
    """One configured corpus: ``path``, optional ``labels`` mapping (file label -> one of
    :data:`LABELS`), ``domain`` name (None: the file's folder name) and ``train_only`` (see
    :attr:`Corpus.train_only`)."""

    path: str
    labels: Mapping[str, str] | None = None
    domain: str | None = None
    train_only: bool = False

    def load(self) -> Corpus:
        """:func:`load_corpus` of this spec."""
        corpus = load_corpus(self.path, self.labels, self.domain)
        return replace(corpus, train_only=True) if self.train_only else corpus


def corpus_specs(value: str) -> list[CorpusSpec]:
    """The corpora of ``TRADING_SENTIMENT_CORPUS``: comma-separated paths; a ``.toml`` path
    is read as a list of tables ``[[corpus]]`` with ``path`` (relative to the TOML file),
    optional ``domain``, optional ``labels`` (a table file label -> label) and optional
    ``train_only`` (a boolean, see :attr:`Corpus.train_only`), e.g.::

        [[corpus]]
        path = "financial_phrasebank/Sentences_AllAgree.txt"
        domain = "headlines"

        [[corpus]]
        path = "financial_phrasebank/all-data.csv"
        domain = "headlines"
        train_only = true

        [[corpus]]
        path = "twitter_financial_news/sent_train.csv"
        domain = "tweets"
        labels = { 0 = "negative", 1 = "positive", 2 = "neutral" }

    Raises:
        SourceDataError: an unreadable TOML file, an entry without ``path`` or with a
            ``train_only`` that is not a boolean, naming it.
    """
    import tomllib

    specs: list[CorpusSpec] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if not item.lower().endswith(".toml"):
            specs.append(CorpusSpec(item))
            continue
        try:
            entries = tomllib.loads(Path(item).read_text(encoding="utf-8")).get("corpus", [])
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SourceDataError(item, f"cannot read the corpus list: {exc}") from exc
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or not entry.get("path"):
                raise SourceDataError(item, f"[[corpus]] entry {number} has no path")
            labels = entry.get("labels")
            train_only = entry.get("train_only", False)
            if not isinstance(train_only, bool):
                raise SourceDataError(
                    item, f"[[corpus]] entry {number}: train_only must be true or false"
                )
            specs.append(
                CorpusSpec(
                    str(Path(item).parent / str(entry["path"])),
                    {str(k): str(v) for k, v in labels.items()} if labels else None,
                    entry.get("domain"),
                    train_only,
                )
            )
    return specs
