"""Sentiment trained on several labelled corpora (domains), measured and calibrated per domain.

Each corpus is one *domain* (e.g. ``headlines`` = Financial PhraseBank, ``tweets`` = Twitter
Financial News). Texts are normalised first (:func:`normalise_text`: links, cashtags and
numbers folded), then per domain:

- duplicates after normalisation are dropped (the same tweet is posted with different
  ``t.co`` links), keeping the first, so no held-out text also appears in training;
- a stratified split with a fixed seed holds out ``test_size`` (20% by default); a second
  stratified split inside the training part is the validation split;
- train-only corpora of the domain (e.g. PhraseBank's ``all-data.csv``, sentences with lower
  annotator agreement, beside the ``AllAgree`` set the domain is measured on) add their texts
  to the training part, minus any that match a held-out or validation text after
  normalisation (:func:`with_extra_training`).

Two candidates are compared on the validation splits by the mean macro-F1 over domains:
``pooled`` (one model on every domain's training part) and ``per_domain`` (one model per
domain, chosen by the text's domain when scoring). In ``per_domain`` each domain's model also
chooses its feature set (:data:`FEATURES`) on its validation split: the TF-IDF blocks alone
(``tfidf``) or with four VADER lexicon scores appended (``tfidf_vader``,
:class:`VaderFeatures`), each into the linear SVM or, with the suffix ``_nb``, into an
NB-SVM (:mod:`~trading_assets.sentiment.nb_svm`: the features scaled per class by
naive-Bayes log-count ratios before one SVM per class); ``tfidf`` wins a tie. The winner is
refitted on the training parts and measured on the held-out parts: accuracy, macro-F1,
per-class recall and expected calibration error (ECE, 10 equal-width confidence bins) per
domain, beside the lexicon and the majority class of the domain's training part.

Every model is a linear pipeline like the ``linear`` one of :mod:`trading_assets.sentiment.ml`
(TF-IDF of word 1–3-grams, character 1–5-grams across word boundaries, and direction tokens
into a class-balanced linear SVM, or the NB-SVM), calibrated to probabilities
with ``CalibratedClassifierCV`` (sigmoid, ``calibration_folds`` folds), then per domain
temperature-scaled (one temperature per domain fitted on its validation split: a pooled
model calibrated on all domains at once is under-confident on the easier one). The scores,
and the ``confidence`` of the sentiment features, are these calibrated probabilities.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from trading_assets.sentiment.corpus import LABELS, Corpus
from trading_assets.sentiment.ml import fold_numbers

CHOICES: tuple[str, ...] = ("pooled", "per_domain")
#: feature sets of a domain's model in the ``per_domain`` layout, chosen per domain on validation
FEATURES: tuple[str, ...] = ("tfidf", "tfidf_vader", "tfidf_nb", "tfidf_vader_nb")

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CASHTAG = re.compile(r"\$([A-Za-z][A-Za-z.]{0,9})\b")
_SIGNED = re.compile(r"(?<![\w.])([+-])\d+(?:[.,]\d+)*%?")


def normalise_text(text: str) -> str:
    """``text`` with links -> ``xurl``, cashtags ``$AAPL`` -> ``xcashtag aapl``, signed
    numbers -> ``xplusnum``/``xminusnum``, other numbers -> ``0`` (see
    :func:`~trading_assets.sentiment.ml.fold_numbers`), lower-cased, no-break spaces and
    ellipses as spaces, whitespace collapsed."""
    text = text.replace("\xa0", " ").replace("\u2026", " ")
    text = _URL.sub(" xurl ", text)
    text = _CASHTAG.sub(lambda m: f" xcashtag {m.group(1)} ", text)
    text = _SIGNED.sub(lambda m: " xplusnum " if m.group(1) == "+" else " xminusnum ", text)
    return " ".join(fold_numbers(text).split())


@dataclass(frozen=True)
class DomainConfig:
    """Knobs of :func:`train_domains` (all part of the model version).

    Attributes:
        seed: random seed of the splits.
        test_size: share of each domain held out (stratified).
        validation_size: share of each training part used to choose pooled vs per-domain.
        linear_c: inverse regularisation of the linear SVM.
        nb_c: inverse regularisation of the NB-SVM's per-class SVMs (``_nb`` feature sets).
        nb_alpha: smoothing of the NB-SVM's log-count ratios (in TF-IDF weight units). This
            and ``nb_c``: the best macro-F1 of a small grid (C 0.1-1, alpha 0.01-1) on the
            tweets' validation split at seed 42, never on a held-out split.
        calibration_folds: folds of ``CalibratedClassifierCV``.
    """

    seed: int = 42
    test_size: float = 0.2
    validation_size: float = 0.2
    linear_c: float = 1.0
    nb_c: float = 0.3
    nb_alpha: float = 0.1
    calibration_folds: int = 5


def _uses_vader(features: str) -> bool:
    return "vader" in features


def _blocks(features: str) -> list[Any]:
    """The unfitted feature blocks of ``features`` (the part before the classifier)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from trading_assets.sentiment.ml import direction_tokens

    blocks = [
        TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True),
        TfidfVectorizer(analyzer="char", ngram_range=(1, 5), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer=direction_tokens, use_idf=False, norm=None, binary=True),
    ]
    if _uses_vader(features):
        blocks.append(VaderFeatures())
    return blocks


def _classifier(config: DomainConfig, features: str) -> Any:
    """The unfitted calibrated classifier of ``features``: NB-SVM for the ``_nb`` sets, the
    class-balanced linear SVM otherwise."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    if features.endswith("_nb"):
        from trading_assets.sentiment.nb_svm import NbSvmClassifier

        svm: Any = NbSvmClassifier(C=config.nb_c, alpha=config.nb_alpha)
    else:
        svm = LinearSVC(C=config.linear_c, class_weight="balanced")
    return CalibratedClassifierCV(svm, cv=config.calibration_folds, method="sigmoid")


def build_linear(config: DomainConfig, features: str = "tfidf"):  # noqa: ANN201 (a Pipeline)
    """An unfitted calibrated linear pipeline over normalised text.

    Args:
        config: the knobs (``linear_c``, ``nb_c``, ``nb_alpha``, ``calibration_folds``).
        features: one of :data:`FEATURES`: ``tfidf`` (word and character TF-IDF and
            direction tokens), ``tfidf_vader`` (the same plus :class:`VaderFeatures`), each
            into the class-balanced linear SVM; with the suffix ``_nb`` the same blocks into
            the NB-SVM (:class:`~trading_assets.sentiment.nb_svm.NbSvmClassifier`: features
            scaled per class by naive-Bayes log-count ratios).

    Raises:
        ValueError: unknown ``features``.
    """
    from sklearn.pipeline import make_pipeline, make_union

    if features not in FEATURES:
        raise ValueError(f"unknown sentiment feature set {features!r}; use one of {FEATURES}")
    return make_pipeline(make_union(*_blocks(features)), _classifier(config, features))


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


class VaderFeatures:
    """Dense lexicon features of each text from VADER (Hutto & Gilbert, 2014; the
    ``vaderSentiment`` package and the lexicon it bundles; rules for intensifiers, negation,
    "but", exclamation marks and emoticons, built for social media).

    A stateless scikit-learn transformer: ``transform(texts)`` gives a sparse float64
    ``(len(texts), 4)`` matrix of VADER's ``neg``, ``neu`` and ``pos`` shares (each in
    [0, 1]) and its ``compound`` score (in [-1, 1]), unscaled: the TF-IDF blocks beside it
    have unit rows, so the four columns weigh like one more block. In the pipelines here it
    reads the normalised, lower-cased text, so VADER's emphasis of words in capitals is
    unused (scored on the raw texts instead, the tweets' validation figures were the same).
    """

    def fit(self, texts: Sequence[str], y: Any = None) -> VaderFeatures:
        """Nothing to learn; returns self."""
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        """The ``(len(texts), 4)`` CSR matrix described in the class docs."""
        import scipy.sparse as sp

        analyzer = _vader()
        rows = []
        for text in texts:
            scores = analyzer.polarity_scores(text)
            rows.append((scores["neg"], scores["neu"], scores["pos"], scores["compound"]))
        return sp.csr_matrix(np.array(rows, dtype=np.float64).reshape(len(rows), 4))

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> Any:
        """:meth:`transform` (nothing to fit)."""
        return self.transform(texts)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters (scikit-learn's estimator protocol, for cloning)."""
        return {}

    def set_params(self, **params: Any) -> VaderFeatures:
        """Accepts no parameters.

        Raises:
            ValueError: any parameter given.
        """
        if params:
            raise ValueError(f"VaderFeatures takes no parameters, got {sorted(params)}")
        return self


class DomainSentimentModel:
    """The trained multi-domain model: ``pooled`` (one pipeline) or ``per_domain``.

    Args:
        models: domain -> fitted pipeline (``pooled``: the key ``*``).
        default_domain: the domain of texts whose domain is not given or not known (the
            first corpus configured, e.g. headlines for news articles).
        temperatures: domain -> temperature applied to the pipeline's log-probabilities
            (fitted on the validation split, :func:`fit_temperature`; missing: 1).

    Attributes:
        classes_: the labels, :data:`LABELS` order.
    """

    def __init__(
        self,
        models: dict[str, Any],
        default_domain: str,
        temperatures: dict[str, float] | None = None,
    ) -> None:
        self.models = models
        self.default_domain = default_domain
        self.temperatures = dict(temperatures or {})
        self.classes_ = np.array(LABELS)

    @property
    def choice(self) -> str:
        """``pooled`` or ``per_domain``."""
        return "pooled" if set(self.models) == {"*"} else "per_domain"

    def _proba(self, model: Any, texts: list[str]) -> np.ndarray:
        raw = model.predict_proba([normalise_text(t) for t in texts])
        order = [list(map(str, model.classes_)).index(label) for label in LABELS]
        return raw[:, order]

    def predict_proba(
        self, texts: Sequence[str], domains: Sequence[str] | None = None
    ) -> np.ndarray:
        """Calibrated probabilities, float64 ``(len(texts), 3)`` in :data:`LABELS` order.

        Args:
            texts: raw texts (normalised here).
            domains: per text its domain (None: all :attr:`default_domain`); ignored when
                pooled.
        """
        texts = list(texts)
        known = set(self.models) | set(self.temperatures)
        wanted = list(domains) if domains is not None else [self.default_domain] * len(texts)
        chosen = [d if d in known else self.default_domain for d in wanted]
        out = np.zeros((len(texts), len(LABELS)))
        for domain in set(chosen):
            index = [i for i, d in enumerate(chosen) if d == domain]
            model = self.models.get("*", self.models.get(domain))
            raw = self._proba(model, [texts[i] for i in index])
            out[index] = scale_temperature(raw, self.temperatures.get(domain, 1.0))
        return out

    def predict(self, texts: Sequence[str], domains: Sequence[str] | None = None) -> np.ndarray:
        """The most probable label per text (strings)."""
        return self.classes_[self.predict_proba(texts, domains).argmax(axis=1)]


def scale_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / temperature)`` row-wise (``(n, k)`` float64; 1 = unchanged)."""
    if temperature == 1.0 or not len(probabilities):
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, truth: Sequence[str]) -> float:
    """The temperature in [0.25, 4] minimising the log-loss of
    :func:`scale_temperature` on (``probabilities`` in :data:`LABELS` order, ``truth``)."""
    from scipy.optimize import minimize_scalar

    index = np.array([LABELS.index(t) for t in truth])

    def loss(log_t: float) -> float:
        scaled = scale_temperature(probabilities, float(np.exp(log_t)))
        return float(-np.log(np.clip(scaled[np.arange(len(index)), index], 1e-12, 1)).mean())

    best = minimize_scalar(loss, bounds=(np.log(0.25), np.log(4.0)), method="bounded")
    return float(np.exp(best.x))


def expected_calibration_error(
    probabilities: np.ndarray, truth: Sequence[str], bins: int = 10
) -> tuple[float, list[dict[str, float]]]:
    """ECE of the top-class confidence over ``bins`` equal-width bins, and the reliability
    table (per non-empty bin: ``low``, ``high``, ``count``, ``confidence``, ``accuracy``).

    Args:
        probabilities: ``(n, 3)`` in :data:`LABELS` order.
        truth: the true labels.
    """
    confidence = probabilities.max(axis=1)
    correct = np.array(LABELS)[probabilities.argmax(axis=1)] == np.asarray(truth)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece, table = 0.0, []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if not inside.any():
            continue
        acc, conf = float(correct[inside].mean()), float(confidence[inside].mean())
        ece += float(inside.mean()) * abs(acc - conf)
        table.append(
            {
                "low": float(low),
                "high": float(high),
                "count": int(inside.sum()),
                "confidence": conf,
                "accuracy": acc,
            }
        )
    return ece, table


@dataclass
class DomainEvaluation:
    """Held-out metrics of one labeller on one domain.

    Attributes:
        accuracy / macro_f1: in [0, 1].
        recall: label -> recall in [0, 1].
        confusion: rows = true, columns = predicted, :data:`LABELS` order.
        ece: expected calibration error (None for labellers without probabilities).
        reliability: the reliability table of :func:`expected_calibration_error`.
    """

    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    confusion: list[list[int]]
    ece: float | None = None
    reliability: list[dict[str, float]] = field(default_factory=list)


def evaluate_domain(
    truth: Sequence[str], predicted: Sequence[str], probabilities: np.ndarray | None = None
) -> DomainEvaluation:
    """Accuracy, macro-F1, per-class recall, confusion (and ECE given probabilities)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    labels = list(LABELS)
    recall = recall_score(truth, predicted, labels=labels, average=None, zero_division=0)
    ece, table = (
        expected_calibration_error(probabilities, truth)
        if probabilities is not None
        else (None, [])
    )
    return DomainEvaluation(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        recall={label: float(v) for label, v in zip(labels, recall, strict=True)},
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
        ece=ece,
        reliability=table,
    )


@dataclass
class DomainSplit:
    """One domain's normalised, deduplicated split.

    Attributes:
        domain: its name.
        train / test: (texts, labels), texts raw (as in the corpus).
        duplicates: rows dropped as duplicates after normalisation.
        majority: the most frequent label of the training part.
    """

    domain: str
    train: tuple[list[str], list[str]]
    test: tuple[list[str], list[str]]
    duplicates: int
    majority: str


def split_domain(corpus: Corpus, config: DomainConfig) -> DomainSplit:
    """Deduplicate ``corpus`` after :func:`normalise_text` (first kept) and split it,
    stratified (see the module docs).

    Raises:
        ValueError: a class too small to stratify.
    """
    from sklearn.model_selection import train_test_split

    seen: set[str] = set()
    texts: list[str] = []
    labels: list[str] = []
    for text, label in zip(corpus.texts, corpus.labels, strict=True):
        key = normalise_text(text)
        if key in seen:
            continue
        seen.add(key)
        texts.append(text)
        labels.append(label)
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=config.test_size, stratify=labels, random_state=config.seed
    )
    majority = max(LABELS, key=y_train.count)
    dropped = len(corpus.texts) - len(texts)
    return DomainSplit(corpus.domain, (x_train, y_train), (x_test, y_test), dropped, majority)


def with_extra_training(
    part: tuple[list[str], list[str]], extras: Sequence[Corpus], kept_out: Sequence[str]
) -> tuple[list[str], list[str]]:
    """``part`` (texts, labels) plus the texts of the ``extras`` (train-only corpora of the
    same domain) whose normalised text is neither in ``part`` nor in ``kept_out`` (the
    domain's held-out and validation texts), each once, in corpus order."""
    texts, labels = list(part[0]), list(part[1])
    seen = {normalise_text(t) for t in [*texts, *kept_out]}
    for corpus in extras:
        for text, label in zip(corpus.texts, corpus.labels, strict=True):
            key = normalise_text(text)
            if key not in seen:
                seen.add(key)
                texts.append(text)
                labels.append(label)
    return texts, labels


def _fit(
    choice: str,
    parts: dict[str, tuple[list[str], list[str]]],
    config: DomainConfig,
    features: dict[str, str] | None = None,
) -> DomainSentimentModel:
    """``choice`` fitted on ``parts``; per domain the feature set ``features[d]``
    (``per_domain`` only; default and ``pooled``: ``tfidf``)."""
    if choice == "pooled":
        x = [normalise_text(t) for part in parts.values() for t in part[0]]
        y = [label for part in parts.values() for label in part[1]]
        models = {"*": build_linear(config).fit(x, y)}
    else:
        models = {
            d: build_linear(config, (features or {}).get(d, FEATURES[0])).fit(
                [normalise_text(t) for t in x], y
            )
            for d, (x, y) in parts.items()
        }
    return DomainSentimentModel(models, default_domain=next(iter(parts)))


@dataclass
class DomainOutcome:
    """What :func:`train_domains` produced.

    Attributes:
        model: the winning :class:`DomainSentimentModel`, fitted on the training parts.
        choice: ``pooled`` or ``per_domain``.
        model_version: ``ml-<12 hex>`` (corpora hashes, config, this module's source).
        config: the configuration.
        validation_macro_f1: choice -> domain -> macro-F1 on the validation splits.
        temperatures: domain -> temperature of the champion (from the validation split).
        held_out: domain -> labeller (``model``, ``lexicon``, ``majority``) -> evaluation.
        sizes: domain -> ``train`` (train-only texts included), ``train_only``, ``test`` and
            ``duplicates`` counts.
        fit_seconds: seconds of the final fit.
        features: domain -> feature set (:data:`FEATURES`) of the champion's model there
            (``pooled``: ``tfidf`` everywhere).
        feature_validation: domain -> feature set -> validation macro-F1 of the
            ``per_domain`` model of that domain with it (the per-domain choice; {} when
            not compared).
    """

    model: DomainSentimentModel
    choice: str
    model_version: str
    config: DomainConfig
    validation_macro_f1: dict[str, dict[str, float]]
    temperatures: dict[str, float]
    held_out: dict[str, dict[str, DomainEvaluation]]
    sizes: dict[str, dict[str, int]]
    fit_seconds: float = 0.0
    features: dict[str, str] = field(default_factory=dict)
    feature_validation: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def mean_macro_f1(self) -> float:
        """The champion's mean held-out macro-F1 over domains."""
        return float(np.mean([d["model"].macro_f1 for d in self.held_out.values()]))

    def table(self) -> str:
        """The per-domain held-out table (fixed width text)."""
        lines = [
            f"{'domain':<12} {'labeller':<9} {'acc':>6} {'macroF1':>7} {'ECE':>6} "
            + " ".join(f"{'rec_' + label[:3]:>7}" for label in LABELS)
        ]
        for domain, rows in self.held_out.items():
            for name, ev in rows.items():
                ece = f"{ev.ece:>6.3f}" if ev.ece is not None else f"{'-':>6}"
                lines.append(
                    f"{domain:<12} {name:<9} {ev.accuracy:>6.3f} {ev.macro_f1:>7.3f} {ece} "
                    + " ".join(f"{ev.recall[label]:>7.3f}" for label in LABELS)
                )
        features = ", ".join(f"{d} {f}" for d, f in self.features.items())
        lines.append(
            f"choice: {self.choice} (features: {features}); mean macro-F1 over domains "
            f"{self.mean_macro_f1:.3f}"
        )
        return "\n".join(lines)


def domain_model_version(corpus_hashes: Sequence[str], config: DomainConfig) -> str:
    """``ml-<12 hex>`` over the corpora (in order, their
    :attr:`~trading_assets.sentiment.corpus.Corpus.identity`), the config, the source of this
    module, :mod:`~trading_assets.sentiment.ml` and :mod:`~trading_assets.sentiment.nb_svm`
    and the scikit-learn and vaderSentiment versions (the latter's bundled lexicon is part of
    the ``tfidf_vader`` features)."""
    import importlib.metadata

    import sklearn

    from trading_assets.sentiment import ml, nb_svm

    digest = hashlib.sha256()
    digest.update(json.dumps(list(corpus_hashes)).encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update(inspect.getsource(sys.modules[__name__]).encode())
    digest.update(inspect.getsource(ml).encode())
    digest.update(inspect.getsource(nb_svm).encode())
    digest.update(sklearn.__version__.encode())
    digest.update(importlib.metadata.version("vadersentiment").encode())
    return f"ml-{digest.hexdigest()[:12]}"


def _validate(
    choices: Sequence[str],
    inner: dict[str, tuple[list[str], list[str]]],
    held: dict[str, tuple[list[str], list[str]]],
    config: DomainConfig,
) -> tuple[dict[tuple[str, str], dict[str, float]], dict[tuple[str, str], dict[str, float]]]:
    """Fit every (layout, feature set) candidate on ``inner`` and measure it on ``held``:
    (macro-F1, temperature), each (choice, features) -> domain -> value. ``pooled`` is fitted
    with ``tfidf`` only, ``per_domain`` with every feature set of :data:`FEATURES` (per
    domain the feature blocks are fitted once and shared by the classifiers that read them:
    the same figures as fitting each pipeline whole)."""
    from sklearn.pipeline import make_union

    scores: dict[tuple[str, str], dict[str, float]] = {}
    temperatures: dict[tuple[str, str], dict[str, float]] = {}

    def measure(key: tuple[str, str], domain: str, probabilities: np.ndarray) -> None:
        y = held[domain][1]
        predicted = list(np.array(LABELS)[probabilities.argmax(1)])
        scores.setdefault(key, {})[domain] = evaluate_domain(y, predicted).macro_f1
        temperatures.setdefault(key, {})[domain] = fit_temperature(probabilities, y)

    if "pooled" in choices:
        model = _fit("pooled", inner, config)
        for d, (x, _) in held.items():
            measure(("pooled", FEATURES[0]), d, model.predict_proba(x, [d] * len(x)))
    if "per_domain" in choices:
        bases = dict.fromkeys(f.removesuffix("_nb") for f in FEATURES)  # the block sets
        for d, (x, y) in inner.items():
            x_fit = [normalise_text(t) for t in x]
            x_held = [normalise_text(t) for t in held[d][0]]
            for base in bases:
                union = make_union(*_blocks(base))
                fitted = union.fit_transform(x_fit)
                measured = union.transform(x_held)
                for feature_set in (f for f in FEATURES if f.removesuffix("_nb") == base):
                    classifier = _classifier(config, feature_set).fit(fitted, y)
                    raw = classifier.predict_proba(measured)
                    order = [list(map(str, classifier.classes_)).index(k) for k in LABELS]
                    measure(("per_domain", feature_set), d, raw[:, order])
    return scores, temperatures


def train_domains(
    corpora: Sequence[Corpus],
    *,
    config: DomainConfig | None = None,
    baseline: Callable[[list[str]], list[str]] | None = None,
    choices: Sequence[str] = CHOICES,
) -> DomainOutcome:
    """Split, choose pooled vs per-domain on validation, refit and measure per domain (see
    the module docs).

    Args:
        corpora: one measured corpus per domain (distinct
            :attr:`~trading_assets.sentiment.corpus.Corpus.domain`), plus any number of
            train-only ones (:attr:`~trading_assets.sentiment.corpus.Corpus.train_only`) of
            those domains, which only add training texts.
        config: knobs (default :class:`DomainConfig`).
        baseline: labeller measured beside the model (e.g. ``LexiconScorer().predict``).
        choices: candidates compared (a single one skips the validation fits).

    Raises:
        ValueError: no measured corpus, two measured corpora with the same domain, a
            train-only corpus of a domain nothing measures, or a class too small to stratify.
    """
    from sklearn.model_selection import train_test_split

    config = config or DomainConfig()
    measured = [c for c in corpora if not c.train_only]
    if not measured:
        raise ValueError("no labelled corpus to measure on (every corpus is train_only)")
    domains = [c.domain for c in measured]
    if len(set(domains)) != len(domains):
        raise ValueError(
            f"corpora share a domain name: {domains}; give each its own domain, or mark the "
            "extra ones train_only"
        )
    extras: dict[str, list[Corpus]] = {d: [] for d in domains}
    for corpus in (c for c in corpora if c.train_only):
        if corpus.domain not in extras:
            raise ValueError(
                f"{corpus.origin}: train_only corpus of domain {corpus.domain!r}, which no "
                f"measured corpus has (domains: {domains})"
            )
        extras[corpus.domain].append(corpus)
    splits = {c.domain: split_domain(c, config) for c in measured}
    validation: dict[str, dict[str, float]] = {}
    features: dict[str, str] = {}
    feature_validation: dict[str, dict[str, float]] = {}
    if len(choices) > 1:
        inner: dict[str, tuple[list[str], list[str]]] = {}
        held: dict[str, tuple[list[str], list[str]]] = {}
        for domain, split in splits.items():
            x_fit, x_val, y_fit, y_val = train_test_split(
                *split.train,
                test_size=config.validation_size,
                stratify=split.train[1],
                random_state=config.seed,
            )
            kept_out = [*x_val, *split.test[0]]
            inner[domain] = with_extra_training((x_fit, y_fit), extras[domain], kept_out)
            held[domain] = (x_val, y_val)
        scores, temperatures = _validate(choices, inner, held, config)
        if "per_domain" in choices:
            for d in inner:
                feature_validation[d] = {f: scores["per_domain", f][d] for f in FEATURES}
                features[d] = max(
                    FEATURES, key=lambda f: (feature_validation[d][f], f == FEATURES[0])
                )

        def key(c: str, d: str) -> tuple[str, str]:
            return c, features.get(d, FEATURES[0]) if c == "per_domain" else FEATURES[0]

        validation = {c: {d: scores[key(c, d)][d] for d in inner} for c in choices}
        choice = max(choices, key=lambda c: (np.mean(list(validation[c].values())), c))
        chosen_temperatures = {d: temperatures[key(choice, d)][d] for d in inner}
    else:
        choice, chosen_temperatures = choices[0], {}
    if choice != "per_domain":
        features = {}
    training = {d: with_extra_training(s.train, extras[d], s.test[0]) for d, s in splits.items()}
    started = time.perf_counter()
    model = _fit(choice, training, config, features)
    model.temperatures = chosen_temperatures
    seconds = time.perf_counter() - started
    held_out: dict[str, dict[str, DomainEvaluation]] = {}
    for domain, split in splits.items():
        x, y = split.test
        probabilities = model.predict_proba(x, [domain] * len(x))
        predicted = list(np.array(LABELS)[probabilities.argmax(1)])
        rows = {"model": evaluate_domain(y, predicted, probabilities)}
        if baseline is not None:
            rows["lexicon"] = evaluate_domain(y, list(baseline(list(x))))
        rows["majority"] = evaluate_domain(y, [split.majority] * len(y))
        held_out[domain] = rows
    return DomainOutcome(
        model=model,
        choice=choice,
        model_version=domain_model_version([c.identity for c in corpora], config),
        config=config,
        validation_macro_f1=validation,
        temperatures=dict(chosen_temperatures),
        held_out=held_out,
        sizes={
            d: {
                "train": len(training[d][0]),
                "train_only": len(training[d][0]) - len(s.train[0]),
                "test": len(s.test[0]),
                "duplicates": s.duplicates,
            }
            for d, s in splits.items()
        },
        fit_seconds=seconds,
        features={d: features.get(d, FEATURES[0]) for d in splits},
        feature_validation=feature_validation,
    )
