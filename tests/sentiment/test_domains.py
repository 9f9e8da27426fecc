"""The multi-domain sentiment model: normalisation, deduplicated per-domain splits, the
pooled-vs-per-domain choice, calibration and per-domain figures (PhraseBank + tweets)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from trading_assets.sentiment.corpus import LABELS, load_corpus
from trading_assets.sentiment.domains import (
    FEATURES,
    DomainConfig,
    DomainSentimentModel,
    VaderFeatures,
    build_linear,
    expected_calibration_error,
    normalise_text,
    scale_temperature,
    split_domain,
    train_domains,
    with_extra_training,
)
from trading_assets.sentiment.ml import MlScorer


def test_normalise_text():
    assert normalise_text("$AAPL up +3.5% to 190.2\xa0https://t.co/AbC…") == (
        "xcashtag aapl up xplusnum to 0 xurl"
    )
    assert normalise_text("Shares -12% after Q3") == "shares xminusnum after q 0"
    # the same tweet posted with another link normalises to the same text
    a = "Stocks rally as Fed holds rates … https://t.co/abc123"
    b = "Stocks rally as Fed holds rates… https://t.co/zzz999"
    assert normalise_text(a) == normalise_text(b)


def test_split_dedups_after_normalisation_and_stratifies(tweets):
    split = split_domain(tweets, DomainConfig())
    train = {normalise_text(t) for t in split.train[0]}
    assert not train & {normalise_text(t) for t in split.test[0]}
    assert split.duplicates > 50  # reposts with other t.co links
    assert len(split.train[0]) + len(split.test[0]) + split.duplicates == 9_543
    share = {label: split.test[1].count(label) / len(split.test[1]) for label in LABELS}
    whole = {label: tweets.labels.count(label) / len(tweets.labels) for label in LABELS}
    assert all(abs(share[label] - whole[label]) < 0.01 for label in LABELS)
    assert split.majority == "neutral"


def test_per_domain_figures(domain_outcome):
    outcome = domain_outcome
    print("\n" + outcome.table())
    assert outcome.choice in ("pooled", "per_domain")
    means = {c: np.mean(list(v.values())) for c, v in outcome.validation_macro_f1.items()}
    assert means[outcome.choice] == max(means.values())  # chosen on validation macro-F1
    headlines, tweets = outcome.held_out["headlines"], outcome.held_out["tweets"]
    # each domain's feature set is the better one on its validation split
    for domain, chosen in outcome.features.items():
        compared = outcome.feature_validation[domain]
        assert set(compared) == set(FEATURES) and compared[chosen] == max(compared.values())
    # measured (seed 42, per_domain chosen, all-data.csv train-only for headlines): headlines
    # tfidf_nb, acc 0.940 / F1 0.920 / ECE 0.014 (tfidf: 0.935 / 0.917; 0.920 / 0.896 without
    # all-data); tweets tfidf_nb, acc 0.850 / F1 0.789 / ECE 0.016 (tfidf_vader: 0.838 /
    # 0.777, tfidf: 0.836 / 0.769). Issue #15 asks headlines >= 0.92, tweets >= 0.84 / 0.77.
    assert outcome.features == {"headlines": "tfidf_nb", "tweets": "tfidf_nb"}
    assert headlines["model"].accuracy >= 0.935 and headlines["model"].macro_f1 >= 0.91
    assert outcome.sizes["headlines"]["train_only"] > 2_000
    assert tweets["model"].accuracy >= 0.845 and tweets["model"].macro_f1 >= 0.78
    for rows in outcome.held_out.values():
        model = rows["model"]
        assert model.ece is not None and model.ece <= 0.05  # calibrated per domain
        assert model.macro_f1 > rows["lexicon"].macro_f1 + 0.3
        assert model.accuracy > rows["majority"].accuracy + 0.15
        assert rows["majority"].recall == {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
        assert min(model.recall.values()) > 0.55
    assert outcome.sizes["tweets"]["test"] == sum(map(sum, tweets["model"].confusion))


def test_model_scores_by_domain(domain_outcome):
    model = domain_outcome.model
    texts = ["$TSLA shares plunge 12% after recall https://t.co/x", "Profit rose to EUR 5 mn"]
    proba = model.predict_proba(texts, ["tweets", "headlines"])
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.predict(texts, ["tweets", "headlines"])) == ["negative", "positive"]
    # no domain given: the first corpus' domain (headlines), unknown domains likewise
    assert np.allclose(model.predict_proba(texts[1:]), proba[1:])
    assert np.allclose(model.predict_proba(texts[1:], ["rss"]), proba[1:])
    assert model.predict_proba([]).shape == (0, 3)
    # the sentiment scores use these calibrated probabilities
    frame = MlScorer(model, domain_outcome.model_version).score(texts, ["tweets", "headlines"])
    assert frame["label"].to_list() == ["negative", "positive"]
    assert np.allclose(frame["confidence"].to_numpy(), proba.max(axis=1))
    assert np.allclose(frame["score"].to_numpy(), proba[:, 2] - proba[:, 0])


def test_vader_features():
    texts = [
        "Great quarter, shares SOAR!!! :)",
        "terrible results, not good at all",
        "the meeting is on monday",
        "",
    ]
    features = VaderFeatures().fit(texts).transform(texts).toarray()
    assert features.shape == (4, 4) and features.dtype == np.float64
    neg, neu, pos, compound = features.T
    assert compound[0] > 0.5 and pos[0] > neg[0]  # caps, "!!!" and the emoticon count
    assert compound[1] < -0.5 and neg[1] > pos[1]  # "not good" is negated
    assert compound[2] == 0.0 and neu[2] == 1.0
    assert (features[3] == [0.0, 0.0, 0.0, 0.0]).all()
    assert np.allclose((neg + neu + pos)[:3], 1.0, atol=0.01)
    with pytest.raises(ValueError, match="unknown sentiment feature set 'bert'"):
        build_linear(DomainConfig(), "bert")
    with pytest.raises(ValueError, match="takes no parameters"):
        VaderFeatures().set_params(weight=2)


def test_calibration_helpers():
    p = np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    assert np.allclose(scale_temperature(p, 1.0), p)
    sharper = scale_temperature(p, 0.5)
    assert np.allclose(sharper.sum(axis=1), 1) and (sharper.max(axis=1) > p.max(axis=1)).all()
    ece, table = expected_calibration_error(p, ["neutral", "neutral"])
    # bins: 0.8 confidence right, 0.6 confidence wrong -> |1-0.8|/2 + |0-0.6|/2
    assert ece == pytest.approx(0.4) and [b["count"] for b in table] == [1, 1]


def test_train_only_texts_never_reach_held_out_or_validation(headlines, alldata):
    split = split_domain(headlines, DomainConfig())
    extra = replace(alldata, domain="headlines", train_only=True)
    texts, labels = with_extra_training(split.train, [extra], split.test[0])
    assert texts[: len(split.train[0])] == split.train[0] and len(texts) == len(labels)
    held = {normalise_text(t) for t in split.test[0]}
    added = [normalise_text(t) for t in texts[len(split.train[0]) :]]
    assert not held & set(added) and len(added) == len(set(added))
    # all-data holds every AllAgree sentence plus ~2,500 with lower agreement
    assert 2_400 < len(added) < 2_700


def test_bad_domain_setups(headlines, alldata, tmp_path):
    with pytest.raises(ValueError, match="share a domain"):
        train_domains([headlines, headlines])
    with pytest.raises(ValueError, match="no labelled corpus"):
        train_domains([])
    extra = replace(alldata, train_only=True)  # domain "financial_phrasebank"
    with pytest.raises(ValueError, match="all-data.csv: train_only corpus of domain"):
        train_domains([headlines, extra])
    with pytest.raises(ValueError, match="every corpus is train_only"):
        train_domains([extra])
    model = DomainSentimentModel({}, "headlines")
    assert model.choice == "per_domain"
    path = tmp_path / "c.csv"
    path.write_text("text,label\ngood,1\n", encoding="utf-8")
    from trading_assets.errors import SourceDataError

    with pytest.raises(SourceDataError, match="not one of"):
        load_corpus(path, {"1": "bullish"})
