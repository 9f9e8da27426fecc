"""The ml sentiment model on the Financial PhraseBank: targets, baseline, determinism.

Stratified 20% held out with seed 42; the winner is chosen on a validation split inside the
training part, so the held-out figures are an honest estimate.
"""

from __future__ import annotations

import dataclasses

from trading_assets.sentiment.ml import (
    MlScorer,
    TrainingConfig,
    direction_tokens,
    model_version,
    train_sentiment_models,
)


def test_allagree_targets_and_comparison(allagree_outcome):
    outcome = allagree_outcome
    print("\nSentences_AllAgree.txt, 20% held out (seed 42):\n" + outcome.table())
    linear, forest, lexicon = (outcome.held_out[n] for n in ("linear", "forest", "lexicon"))
    assert outcome.sizes == {"train": 1_810, "test": 453, "validation": 362}
    assert linear.accuracy >= 0.92 and linear.macro_f1 >= 0.89
    assert (
        outcome.winner == "linear"
        and outcome.validation_macro_f1["linear"] > (outcome.validation_macro_f1["forest"])
    )
    assert linear.macro_f1 > forest.macro_f1 > lexicon.macro_f1
    assert sum(map(sum, linear.confusion)) == 453
    assert [sum(row) for row in linear.confusion] == [61, 278, 114]  # stratified


def test_alldata_accuracy_next_to_the_lexicon(alldata, lexicon):
    outcome = train_sentiment_models(
        alldata.texts,
        alldata.labels,
        corpus_hash=alldata.content_hash,
        config=TrainingConfig(compare_forest=False),
        baseline=lexicon.predict,
    )
    print("\nall-data.csv (>= 50% agreement), 20% held out (seed 42):\n" + outcome.table())
    assert outcome.held_out["linear"].accuracy >= 0.78
    assert outcome.held_out["lexicon"].accuracy < outcome.held_out["linear"].accuracy - 0.1


def test_scores_and_versions(allagree_outcome, allagree):
    outcome = allagree_outcome
    scorer = MlScorer(outcome.model, outcome.model_version)
    frame = scorer.score(
        [
            "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn",
            "Net loss widened to EUR 4.2 mn and the company cut its outlook",
            "The company is headquartered in Espoo , Finland",
        ]
    )
    assert frame["label"].to_list() == ["positive", "negative", "neutral"]
    assert frame["score"][0] > 0.5 and frame["score"][1] < -0.2 and abs(frame["score"][2]) < 0.5
    assert frame["score"].is_between(-1, 1).all() and frame["confidence"].is_between(0, 1).all()
    assert scorer.score([]).height == 0
    # the version is a content hash: same corpus + config -> same, any change -> new
    config = outcome.config
    assert model_version(allagree.content_hash, config) == outcome.model_version
    assert model_version(allagree.content_hash, dataclasses.replace(config, seed=7)) != (
        outcome.model_version
    )
    assert model_version("other-corpus", config) != outcome.model_version


def test_direction_tokens():
    assert direction_tokens("Operating profit rose 5 %") == ["up_good"]
    assert direction_tokens("Net loss increased") == ["up_bad"]
    assert direction_tokens("Costs were cut sharply") == ["down_bad"]
    assert direction_tokens("Sales did not grow") == ["up_good", "not_up"]
