"""``train_or_reuse`` with a TOML list of corpora: multi-domain training, registration and
reuse of the registered version."""

from __future__ import annotations

from trading_assets.sentiment import domains, training
from trading_assets.sentiment.settings import SentimentSettings

WANTED = [("headlines", False), ("headlines", True), ("tweets", False)]


def test_corpus_list_trains_per_domain_then_reuses(
    tmp_path, shared_data, domain_outcome, monkeypatch
):
    listing = tmp_path / "corpora.toml"
    listing.write_text(
        f'[[corpus]]\npath = "{shared_data}/sentiment/financial_phrasebank/'
        'Sentences_AllAgree.txt"\ndomain = "headlines"\n\n'
        f'[[corpus]]\npath = "{shared_data}/sentiment/financial_phrasebank/all-data.csv"\n'
        'domain = "headlines"\ntrain_only = true\n\n'
        f'[[corpus]]\npath = "{shared_data}/sentiment/twitter_financial_news/sent_train.csv"\n'
        'domain = "tweets"\nlabels = { 0 = "negative", 1 = "positive", 2 = "neutral" }\n',
        encoding="utf-8",
    )
    calls = []

    def trained_once(corpora, **kwargs):  # the session's training of the same corpora
        calls.append([(c.domain, c.train_only) for c in corpora])
        return domain_outcome

    monkeypatch.setattr(domains, "train_domains", trained_once)
    settings = SentimentSettings(corpus_path=str(listing))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = training.train_or_reuse(settings, uri, str(tmp_path / "artifacts"))
    assert calls == [WANTED]
    # same corpora, mappings and config -> the session outcome's content-hash version
    assert first.model_version == domain_outcome.model_version
    assert first.status == f"trained on 3 corpora, 2 domains; winner {domain_outcome.choice}"
    values = first.metric_values()
    assert values["tweets_ece"] <= 0.05 and values["headlines_accuracy"] >= 0.9
    assert {r["domain"] for r in first.held_out_rows()} == {"headlines", "tweets"}
    again = training.train_or_reuse(settings, uri, str(tmp_path / "artifacts"))
    assert calls == [WANTED] and again.outcome is None
    assert again.registered == first.registered and "not retrained" in again.status
