"""Supervised news sentiment: a TF-IDF + linear classifier, compared with a random forest.

Candidates (scikit-learn pipelines over raw text):

- ``linear``: word 1–2-gram TF-IDF + character 2–5-gram TF-IDF (numbers folded to ``0``)
  + *direction* tokens, into a class-balanced linear SVM calibrated to probabilities
  (sigmoid, 3-fold). Direction tokens pair a movement word with the nearest financial
  quantity: "operating **profit rose**" gives ``up_good``, "**loss** widened/**increased**"
  gives ``up_bad``. That interaction is what decides most PhraseBank sentences and a bag of
  words only sees it through bigrams.
- ``forest``: word 1–2-gram TF-IDF into a random forest (the original system's model).

:func:`train_sentiment_models` splits the corpus once, stratified, with a fixed seed
(``test_size`` held out, 20% by default). The winner is chosen on a validation split *inside*
the training part (macro-F1), so the held-out part only measures. Both candidates are then
refitted on the whole training part and evaluated on the held-out part (accuracy, macro-F1,
confusion matrix), next to an optional baseline (the lexicon) on the same sentences.

Scores: ``score`` = P(positive) − P(negative) in [−1, 1], ``label`` = most probable class,
``confidence`` = its probability.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from trading_assets.sentiment.corpus import LABELS

METHOD = "ml"
CANDIDATES: tuple[str, ...] = ("linear", "forest")

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+")
_UP = re.compile(
    r"^(rose|rise[sn]?|rising|increas\w*|grew|grow\w*|up|higher|improv\w*|gain\w*|climb\w*"
    r"|jump\w*|soar\w*|doubl\w*|boost\w*|surg\w*|expand\w*|widen\w*|rais\w*)$"
)
_DOWN = re.compile(
    r"^(fell|fall\w*|decreas\w*|declin\w*|down|lower|drop\w*|cut\w*|reduc\w*|shrank|shrink\w*"
    r"|slump\w*|plung\w*|weaken\w*|contract\w*|narrow\w*|halv\w*|slid\w*|sank|sink\w*)$"
)
_BAD = re.compile(
    r"^(loss|losses|cost|costs|debt|expenses?|unemployment|layoffs?|deficit|impairment\w*"
    r"|charges?|liabilit\w*|writedowns?|risk|risks)$"
)
_GOOD = re.compile(
    r"^(profit\w*|sales|revenue\w*|earnings|income|ebit\w*|margin\w*|orders?|turnover|growth"
    r"|dividend\w*|eps|results?|demand|share|operating|net|price|value|volume\w*)$"
)


def fold_numbers(text: str) -> str:
    """Lower-case ``text`` with every number replaced by ``0`` (amounts vary, words don't)."""
    return _NUMBER.sub(" 0 ", text.lower())


def direction_tokens(text: str) -> list[str]:
    """``up_good``/``up_bad``/``up_none``/``down_*`` for each movement word of ``text``
    (quantity looked for within 6 words either side), plus ``not_up``/``not_down`` when a
    negation precedes it."""
    words = _WORD.findall(text.lower())
    tokens: list[str] = []
    for index, word in enumerate(words):
        direction = "up" if _UP.match(word) else "down" if _DOWN.match(word) else None
        if direction is None:
            continue
        window = words[max(0, index - 6) : index + 7]
        if any(_BAD.match(w) for w in window):
            kind = "bad"
        elif any(_GOOD.match(w) for w in window):
            kind = "good"
        else:
            kind = "none"
        tokens.append(f"{direction}_{kind}")
        if any(w in ("not", "no", "nor", "without") for w in words[max(0, index - 3) : index]):
            tokens.append(f"not_{direction}")
    return tokens


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs of :func:`train_sentiment_models` (all part of the model version).

    Attributes:
        seed: random seed of the splits and the forest.
        test_size: share held out for the final evaluation (stratified).
        validation_size: share of the training part used to choose the winner.
        linear_c: inverse regularisation of the linear SVM.
        forest_trees: trees of the random forest.
        compare_forest: also train the forest (off = linear only, faster).
    """

    seed: int = 42
    test_size: float = 0.2
    validation_size: float = 0.2
    linear_c: float = 0.5
    forest_trees: int = 200
    compare_forest: bool = True


def build_model(name: str, config: TrainingConfig):  # noqa: ANN201 (a sklearn Pipeline)
    """An unfitted pipeline for candidate ``name`` (``linear`` or ``forest``).

    Raises:
        ValueError: an unknown candidate.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    if name == "linear":
        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=fold_numbers),
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                sublinear_tf=True,
                min_df=2,
                preprocessor=fold_numbers,
            ),
            TfidfVectorizer(analyzer=direction_tokens, use_idf=False, norm=None, binary=True),
        )
        classifier = CalibratedClassifierCV(
            LinearSVC(C=config.linear_c, class_weight="balanced"), cv=3, method="sigmoid"
        )
        return make_pipeline(features, classifier)
    if name == "forest":
        return make_pipeline(
            TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=True, min_df=2, preprocessor=fold_numbers
            ),
            RandomForestClassifier(
                n_estimators=config.forest_trees,
                class_weight="balanced_subsample",
                random_state=config.seed,
                n_jobs=2,
            ),
        )
    raise ValueError(f"unknown sentiment model candidate {name!r}; use one of {CANDIDATES}")


@dataclass
class Evaluation:
    """Held-out metrics of one classifier.

    Attributes:
        accuracy / macro_f1: in [0, 1].
        confusion: rows = true label, columns = predicted label, both in :data:`LABELS` order.
        per_class_f1: label -> F1.
    """

    accuracy: float
    macro_f1: float
    confusion: list[list[int]]
    per_class_f1: dict[str, float]


def evaluate(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1, per-class F1 and confusion matrix over :data:`LABELS`."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(LABELS)
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return Evaluation(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
        per_class_f1={label: float(v) for label, v in zip(labels, per_class, strict=True)},
    )


@dataclass
class TrainingOutcome:
    """What :func:`train_sentiment_models` produced.

    Attributes:
        model: the winning pipeline, fitted on the whole training part.
        winner: its candidate name.
        model_version: see :func:`model_version`.
        config: the training configuration.
        held_out: name -> :class:`Evaluation` on the held-out part (candidates and baseline).
        validation_macro_f1: candidate -> macro-F1 on the validation split (the choice).
        sizes: ``train``, ``test`` and ``validation`` sentence counts.
        label_counts: label -> sentences in the whole corpus.
        fit_seconds: candidate -> seconds of the final fit.
    """

    model: Any
    winner: str
    model_version: str
    config: TrainingConfig
    held_out: dict[str, Evaluation]
    validation_macro_f1: dict[str, float]
    sizes: dict[str, int]
    label_counts: dict[str, int]
    fit_seconds: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        """The held-out comparison as a fixed-width text table."""
        lines = [f"{'model':<10} {'accuracy':>9} {'macro-F1':>9}"]
        for name, ev in self.held_out.items():
            mark = " *" if name == self.winner else ""
            lines.append(f"{name:<10} {ev.accuracy:>9.4f} {ev.macro_f1:>9.4f}{mark}")
        return "\n".join(lines)


def model_version(corpus_hash: str, config: TrainingConfig) -> str:
    """``ml-<12 hex>``: a hash of the corpus bytes, the training config, this module's source
    and the scikit-learn version. Training the same corpus with the same code gives the same
    version, so nothing is re-scored; any change gives a new one."""
    import sklearn

    digest = hashlib.sha256()
    digest.update(corpus_hash.encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update(inspect.getsource(sys.modules[__name__]).encode())
    digest.update(sklearn.__version__.encode())
    return f"ml-{digest.hexdigest()[:12]}"


def train_sentiment_models(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    corpus_hash: str,
    config: TrainingConfig | None = None,
    baseline: Callable[[list[str]], list[str]] | None = None,
    baseline_name: str = "lexicon",
) -> TrainingOutcome:
    """Train, choose and evaluate (see the module docs).

    Args:
        texts / labels: the corpus (labels in :data:`LABELS`).
        corpus_hash: content hash of the corpus (part of the model version).
        config: training knobs (default :class:`TrainingConfig`).
        baseline: optional labeller evaluated on the same held-out sentences (e.g.
            ``LexiconScorer().predict``).
        baseline_name: its name in :attr:`TrainingOutcome.held_out`.

    Raises:
        ValueError: mismatched lengths, unknown labels, or a class too small to stratify.
    """
    import time

    from sklearn.model_selection import train_test_split

    config = config or TrainingConfig()
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    unknown = set(labels) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels {sorted(unknown)}; expected {LABELS}")
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=config.test_size, stratify=labels, random_state=config.seed
    )
    x_fit, x_val, y_fit, y_val = train_test_split(
        x_train,
        y_train,
        test_size=config.validation_size,
        stratify=y_train,
        random_state=config.seed,
    )
    names = list(CANDIDATES) if config.compare_forest else ["linear"]
    validation: dict[str, float] = {}
    for name in names:
        model = build_model(name, config).fit(x_fit, y_fit)
        validation[name] = evaluate(y_val, list(model.predict(x_val))).macro_f1
    winner = max(names, key=lambda n: (validation[n], n == "linear"))
    held_out: dict[str, Evaluation] = {}
    fitted: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        fitted[name] = build_model(name, config).fit(x_train, y_train)
        seconds[name] = time.perf_counter() - started
        held_out[name] = evaluate(y_test, list(fitted[name].predict(x_test)))
    if baseline is not None:
        held_out[baseline_name] = evaluate(y_test, list(baseline(list(x_test))))
    counts = {label: labels.count(label) for label in LABELS}
    return TrainingOutcome(
        model=fitted[winner],
        winner=winner,
        model_version=model_version(corpus_hash, config),
        config=config,
        held_out=held_out,
        validation_macro_f1=validation,
        sizes={"train": len(x_train), "test": len(x_test), "validation": len(x_val)},
        label_counts=counts,
        fit_seconds=seconds,
    )


class MlScorer:
    """Scores texts with a fitted pipeline that has ``predict_proba`` over :data:`LABELS`.

    Args:
        model: the fitted pipeline (from training or the MLflow registry).
        model_version: the version stored with each score.
    """

    def __init__(self, model: Any, model_version: str) -> None:
        self.model = model
        self.model_version = model_version
        classes = [str(c) for c in model.classes_]
        missing = set(LABELS) - set(classes)
        if missing:
            raise ValueError(f"model has no class {sorted(missing)}")
        self._index = {label: classes.index(label) for label in LABELS}

    def score(self, texts: Sequence[str], domains: Sequence[str] | None = None) -> pl.DataFrame:
        """A frame with one row per text (``score``, ``label``, ``confidence``; see the module
        docs).

        Args:
            texts: raw texts.
            domains: per text its domain, for a multi-domain model
                (:class:`~trading_assets.sentiment.domains.DomainSentimentModel`; None: its
                default domain, the first corpus configured). Ignored by single-domain models.
        """
        if not texts:
            return pl.DataFrame(
                schema={"score": pl.Float64, "label": pl.String, "confidence": pl.Float64}
            )
        probabilities = (
            self.model.predict_proba(list(texts), list(domains))
            if domains is not None and hasattr(self.model, "default_domain")
            else self.model.predict_proba(list(texts))
        )
        classes = [str(c) for c in self.model.classes_]
        best = probabilities.argmax(axis=1)
        positive = probabilities[:, self._index["positive"]]
        negative = probabilities[:, self._index["negative"]]
        return pl.DataFrame(
            {
                "score": (positive - negative).clip(-1.0, 1.0),
                "label": [classes[i] for i in best],
                "confidence": probabilities.max(axis=1),
            },
            schema={"score": pl.Float64, "label": pl.String, "confidence": pl.Float64},
        )
