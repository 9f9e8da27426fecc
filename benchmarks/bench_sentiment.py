"""Multi-domain sentiment benchmark: ``.venv/bin/python -m benchmarks.bench_sentiment``.

Real data (``../shared/data/sentiment``): Financial PhraseBank ``Sentences_AllAgree.txt``
(domain ``headlines``, measured), its ``all-data.csv`` (the sentences with lower annotator
agreement, train-only for ``headlines``: nothing of it is held out, and its copies of
held-out sentences are dropped) and the Twitter Financial News training set (domain
``tweets``, labels 0 bearish / 1 bullish / 2 neutral). Trains the multi-domain model
(:func:`trading_assets.sentiment.domains.train_domains`: pooled vs per-domain, and per domain
TF-IDF with or without VADER lexicon scores, into a linear SVM or an NB-SVM, chosen on
validation, calibrated per domain) and prints:

1. **Per-domain table** on the held-out splits: accuracy, macro-F1, ECE and per-class recall
   of the champion, beside the lexicon and the majority class, against the issue #15 targets
   (tweets >= 0.84 accuracy and >= 0.77 macro-F1, headlines >= 0.92 accuracy, ECE <= 0.05).
2. **Scoring throughput** (texts/s) of the champion through ``MlScorer`` on every held-out
   text (normalisation + calibrated probabilities), next to the lexicon on the same texts
   measured in the same run (a ratio, no absolute target).

``--seed N`` (default 42) sets the seed of the splits (held-out and validation).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import best_of, print_table, shared_data_dir, verdict


def main() -> None:
    """Train, print the per-domain table and the scoring throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42, help="seed of the splits (default 42)")
    args = parser.parse_args()
    from dataclasses import replace

    from trading_assets.sentiment.corpus import load_corpus
    from trading_assets.sentiment.domains import DomainConfig, split_domain, train_domains
    from trading_assets.sentiment.lexicon import LexiconScorer
    from trading_assets.sentiment.ml import MlScorer

    data = shared_data_dir() / "sentiment"
    corpora = [
        load_corpus(data / "financial_phrasebank" / "Sentences_AllAgree.txt", domain="headlines"),
        replace(
            load_corpus(data / "financial_phrasebank" / "all-data.csv", domain="headlines"),
            train_only=True,
        ),
        load_corpus(
            data / "twitter_financial_news" / "sent_train.csv",
            {"0": "negative", "1": "positive", "2": "neutral"},
            "tweets",
        ),
    ]
    lexicon = LexiconScorer()
    started = time.perf_counter()
    outcome = train_domains(corpora, config=DomainConfig(seed=args.seed), baseline=lexicon.predict)
    train_seconds = time.perf_counter() - started
    rows = []
    for domain, labellers in outcome.held_out.items():
        for name, ev in labellers.items():
            rows.append(
                [
                    domain,
                    name,
                    f"{ev.accuracy:.3f}",
                    f"{ev.macro_f1:.3f}",
                    "-" if ev.ece is None else f"{ev.ece:.3f}",
                    *(f"{v:.3f}" for v in ev.recall.values()),
                ]
            )
    print_table(
        f"Held-out per domain (seed {args.seed}; choice: {outcome.choice}, features "
        + ", ".join(f"{d} {f}" for d, f in outcome.features.items())
        + f"; training {train_seconds:.1f} s)",
        ["domain", "labeller", "accuracy", "macro-F1", "ECE", "rec neg", "rec neu", "rec pos"],
        rows,
    )
    tweets, headlines = outcome.held_out["tweets"]["model"], outcome.held_out["headlines"]["model"]
    targets = [
        ["tweets accuracy >= 0.84", f"{tweets.accuracy:.3f}", verdict(tweets.accuracy >= 0.84)],
        ["tweets macro-F1 >= 0.77", f"{tweets.macro_f1:.3f}", verdict(tweets.macro_f1 >= 0.77)],
        [
            "headlines accuracy >= 0.92",
            f"{headlines.accuracy:.3f}",
            verdict(headlines.accuracy >= 0.92),
        ],
        *(
            [f"{d} ECE <= 0.05", f"{r['model'].ece:.3f}", verdict(r["model"].ece <= 0.05)]
            for d, r in outcome.held_out.items()
        ),
        ["mean macro-F1 over domains", f"{outcome.mean_macro_f1:.3f}", ""],
    ]
    print_table("Issue #15 targets", ["target", "measured", "verdict"], targets)
    texts = [
        t for c in corpora if not c.train_only for t in split_domain(c, outcome.config).test[0]
    ]
    scorer = MlScorer(outcome.model, outcome.model_version)
    ml = best_of(lambda: scorer.score(texts))
    lex = best_of(lambda: lexicon.score(texts))
    print_table(
        f"Scoring throughput ({len(texts)} held-out texts, best of 3, warm process: the "
        "model is already loaded and the libraries imported)",
        ["scorer", "texts/s", "ratio to lexicon"],
        [
            [
                "ml (multi-domain, calibrated)",
                f"{len(texts) / ml.seconds:,.0f}",
                f"{lex.seconds / ml.seconds:.2f}",
            ],
            ["lexicon", f"{len(texts) / lex.seconds:,.0f}", "1.00"],
        ],
    )


if __name__ == "__main__":
    main()
