"""Errors of the training pipeline; each names the dataset, fold, family or column at fault."""

from __future__ import annotations

from trading_assets.errors import TradingAssetsError


class TrainingDataError(TradingAssetsError, ValueError):
    """The feature/label rows cannot be trained on (too few rows, constant label, ...)."""


class FamilyFailed(TradingAssetsError, RuntimeError):
    """One model family could not be trained (did not converge, bad parameters, ...).

    Attributes:
        family: the family name.
        reason: what went wrong, in plain words.
    """

    def __init__(self, family: str, reason: str) -> None:
        self.family = family
        self.reason = reason
        super().__init__(f"model family {family!r} failed: {reason}")
