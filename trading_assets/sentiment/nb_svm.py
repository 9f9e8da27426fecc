"""NB-SVM: a linear SVM over features scaled by naive-Bayes log-count ratios (after Wang &
Manning, 2012, "Baselines and Bigrams"), one-vs-rest for several classes.

For each class ``c`` the features are scaled by ``r_c = log(p_c / |p_c|_1) - log(q_c /
|q_c|_1)`` with ``p_c = alpha + sum of |x|`` over the training rows of class ``c`` and ``q_c``
the same over the other rows: a feature seen mostly in class ``c`` (a word, a character
n-gram) gets a large weight before the SVM sees it, one spread evenly over the classes a weight
near zero. A class-balanced binary linear SVM is fitted per class on its scaled features; the
decision scores of the classes side by side are the multi-class decision function (the
largest wins), which ``CalibratedClassifierCV`` turns into probabilities.

This module imports scikit-learn at import time (its estimator base classes); the pipelines
of :mod:`trading_assets.sentiment.domains` import it only when they build this classifier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import LinearSVC


def log_count_ratios(X: Any, inside: np.ndarray, alpha: float) -> np.ndarray:
    """The naive-Bayes log-count ratio of every feature for one class: float64
    ``(n_features,)``, ``log(p / |p|_1) - log(q / |q|_1)`` with ``p = alpha + `` the column
    sums of ``|X|`` over the rows where ``inside`` (bool ``(n,)``) is true and ``q`` the same
    over the other rows. Positive: the feature weighs more in the class than outside it."""
    size = abs(sp.csr_matrix(X, dtype=np.float64))
    p = alpha + np.asarray(size[inside].sum(axis=0)).ravel()
    q = alpha + np.asarray(size[~inside].sum(axis=0)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


class NbSvmClassifier(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear SVMs over naive-Bayes-scaled features (see the module docs).

    Args:
        C: inverse regularisation of each class' ``LinearSVC`` (class-balanced).
        alpha: additive smoothing of the per-class feature sums (same unit as the features,
            e.g. TF-IDF weights; smaller trusts rare features more).

    Attributes (after :meth:`fit`):
        classes_: the sorted labels, shape ``(k,)``.
        coef_: float64 ``(k, n_features)``, each class' SVM weights times its ratios, so
            that the class' score of a row ``x`` is ``x @ coef_[c] + intercept_[c]``.
        intercept_: float64 ``(k,)``.
    """

    def __init__(self, C: float = 1.0, alpha: float = 0.1) -> None:
        self.C = C
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> NbSvmClassifier:
        """Fit on ``X`` (sparse or dense ``(n, n_features)``; the ratios are computed from
        the magnitudes, the SVMs see the features as they are, scaled) and labels ``y``
        (``(n,)``).

        Raises:
            ValueError: fewer than two classes in ``y``, or ``alpha`` not positive.
        """
        if self.alpha <= 0:
            raise ValueError(f"NbSvmClassifier alpha must be positive, got {self.alpha}")
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise ValueError(f"NbSvmClassifier needs two classes or more, got {self.classes_}")
        x = sp.csr_matrix(X, dtype=np.float64)
        coefs, intercepts = [], []
        for label in self.classes_:
            inside = labels == label
            ratio = log_count_ratios(x, inside, self.alpha)
            svm = LinearSVC(C=self.C, class_weight="balanced")
            svm.fit(x @ sp.diags(ratio), inside.astype(np.int64))
            coefs.append(svm.coef_.ravel() * ratio)  # (x * ratio) @ w == x @ (w * ratio)
            intercepts.append(float(svm.intercept_[0]))
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.array(intercepts)
        self.n_features_in_ = x.shape[1]
        return self

    def _scores(self, X: Any) -> np.ndarray:
        return np.asarray(sp.csr_matrix(X, dtype=np.float64) @ self.coef_.T) + self.intercept_

    def decision_function(self, X: Any) -> np.ndarray:
        """Float64 ``(n, k)``: each class' SVM score on its scaled features; with two
        classes ``(n,)``, the second class' score minus the first's (scikit-learn's binary
        convention)."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X: Any) -> np.ndarray:
        """The label with the largest decision score, ``(n,)``."""
        return self.classes_[self._scores(X).argmax(axis=1)]
