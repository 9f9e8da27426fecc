"""Financial PhraseBank loading (both published layouts)."""

from __future__ import annotations

import pytest

from trading_assets.errors import SourceDataError
from trading_assets.sentiment.corpus import load_corpus


def test_allagree_txt(allagree):
    # 2,264 lines: one stray line holding just "1" (a sentence broken in the release)
    assert allagree.frame.height == 2_263 and allagree.skipped == 1
    counts = dict(allagree.frame["label"].value_counts().iter_rows())
    assert counts == {"negative": 303, "neutral": 1_390, "positive": 570}
    # ISO-8859-1 accents decoded
    assert any("ä" in t or "ö" in t for t in allagree.texts)


def test_alldata_csv(alldata):
    assert alldata.frame.height == 4_846 and alldata.skipped == 0
    counts = dict(alldata.frame["label"].value_counts().iter_rows())
    assert counts == {"negative": 604, "neutral": 2_879, "positive": 1_363}
    assert not any("\ufffd" in t for t in alldata.texts)  # stray bytes read as Latin-1


def test_bad_corpora_are_named(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("stars,review\n5,great\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="no label column"):
        load_corpus(path)
    path.write_text("label,text\nmaybe,unsure\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="no labelled sentence"):
        load_corpus(path)
