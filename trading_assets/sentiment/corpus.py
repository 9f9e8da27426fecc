"""Labelled sentiment corpora: Financial PhraseBank and plain ``label,text`` CSVs.

Accepted files (SOURCES.md §D):

- ``Sentences_*.txt`` (the original PhraseBank release): one ``sentence@label`` per line,
  ISO-8859-1 encoded. Lines without ``@<label>`` (a sentence broken across lines in the
  release) are skipped and counted.
- ``*.csv`` with a header naming a label column (``label``/``sentiment``) and a text column
  (``content``/``text``/``sentence``), or without a header as ``label,text`` rows (as the
  ``all-data.csv`` copy of the PhraseBank). Read as UTF-8 with undecodable bytes read as
  ISO-8859-1 characters (two rows of ``all-data.csv`` carry such bytes).

Labels are ``negative``, ``neutral``, ``positive`` (case-insensitive in the file).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
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
    """

    frame: pl.DataFrame
    origin: str
    content_hash: str
    skipped: int = 0

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].to_list()

    @property
    def labels(self) -> list[str]:
        return self.frame["label"].to_list()


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


def load_corpus(path: str | Path) -> Corpus:
    """Read a labelled corpus file (formats in the module docs).

    Raises:
        SourceDataError: unreadable file, no usable column layout, or no labelled row.
    """
    file = Path(path)
    origin = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SourceDataError(origin, f"cannot read: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()[:16]
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    if file.suffix.lower() == ".txt":
        for line in raw.decode("latin-1").splitlines():
            sentence, sep, label = line.rpartition("@")
            label = label.strip().lower()
            if not sep or label not in LABELS or not sentence.strip():
                skipped += bool(line.strip())
                continue
            texts.append(sentence.strip())
            labels.append(label)
    else:
        rows = list(csv.reader(io.StringIO(_decode_mixed(raw), newline="")))
        if not rows:
            raise SourceDataError(origin, "empty file")
        header = [c.strip().lower() for c in rows[0]]
        if header and header[0] not in LABELS and len(header) >= 2:
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
            label = row[label_col].strip().lower()
            text = row[text_col].strip()
            if label not in LABELS or not text:
                skipped += 1
                continue
            texts.append(text)
            labels.append(label)
    if not texts:
        raise SourceDataError(origin, "no labelled sentence found")
    frame = pl.DataFrame(
        {"text": texts, "label": labels}, schema={"text": pl.String, "label": pl.String}
    )
    return Corpus(frame=frame, origin=origin, content_hash=digest, skipped=skipped)
