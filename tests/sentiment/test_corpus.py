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


def test_tweets_with_a_label_mapping(tweets):
    # 9,543 records over 9,939 physical lines (texts with bare-LF newlines inside quotes)
    assert tweets.frame.height == 9_543 and tweets.skipped == 0 and tweets.domain == "tweets"
    counts = dict(tweets.frame["label"].value_counts().iter_rows())
    assert counts == {"negative": 1_442, "positive": 1_923, "neutral": 6_178}
    assert sum("\n" in t for t in tweets.texts) == 184
    with pytest.raises(SourceDataError, match="no labelled sentence"):
        load_corpus(tweets.origin)  # 0/1/2 are not labels without the mapping


def test_corpus_specs(tmp_path, shared_data):
    from trading_assets.sentiment.corpus import CorpusSpec, corpus_specs

    assert corpus_specs("a.csv, b.txt,") == [CorpusSpec("a.csv"), CorpusSpec("b.txt")]
    listing = tmp_path / "corpora.toml"
    listing.write_text(
        f'[[corpus]]\npath = "{shared_data}/sentiment/financial_phrasebank/all-data.csv"\n'
        'domain = "headlines"\n\n[[corpus]]\npath = "tw/sent_train.csv"\n'
        'labels = { 0 = "negative", 1 = "positive", 2 = "neutral" }\n',
        encoding="utf-8",
    )
    first, second = corpus_specs(str(listing))
    assert first.domain == "headlines" and first.labels is None
    assert first.load().frame.height == 4_846
    assert second.path == str(tmp_path / "tw" / "sent_train.csv")
    assert second.labels == {"0": "negative", "1": "positive", "2": "neutral"}
    listing.write_text('[[corpus]]\ndomain = "x"\n', encoding="utf-8")
    with pytest.raises(SourceDataError, match="entry 1 has no path"):
        corpus_specs(str(listing))
    listing.write_text(
        f'[[corpus]]\npath = "{shared_data}/sentiment/financial_phrasebank/all-data.csv"\n'
        'domain = "headlines"\ntrain_only = true\n',
        encoding="utf-8",
    )
    (extra,) = corpus_specs(str(listing))
    loaded = extra.load()
    assert extra.train_only and loaded.train_only and loaded.frame.height == 4_846
    plain = first.load()
    assert loaded.content_hash == plain.content_hash  # the same file...
    assert loaded.identity == plain.identity + ":train_only"  # ...in another role
    listing.write_text('[[corpus]]\npath = "a.csv"\ntrain_only = "yes"\n', encoding="utf-8")
    with pytest.raises(SourceDataError, match="entry 1: train_only must be true or false"):
        corpus_specs(str(listing))
