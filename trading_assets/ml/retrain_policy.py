"""When models retrain: a declared policy, apart from new data (no Dagster here).

A new bar flows through features, live predictions and signals; it never retrains by itself.
Models retrain when :meth:`RetrainPolicy.reason` says so:

- they were never trained;
- at least ``new_bars`` rows were added to the training table since the rows the last
  training read (all timeframes and symbols counted together);
- the last training is at least ``max_age`` old (default one day).

A changed code version of the training asset is handled by Dagster itself (it is a new
model, whatever the policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetrainPolicy:
    """Retrain after ``max_age``, or once ``new_bars`` training rows arrived.

    Raises:
        ValueError: a non-positive ``max_age`` or ``new_bars``.
    """

    max_age: timedelta = timedelta(days=1)
    new_bars: int = 500

    def __post_init__(self) -> None:
        if self.max_age <= timedelta(0):
            raise ValueError(f"retrain max_age must be positive, got {self.max_age}")
        if self.new_bars < 1:
            raise ValueError(f"retrain new_bars must be at least 1, got {self.new_bars}")

    def reason(
        self,
        *,
        now: datetime,
        trained_at: datetime | None,
        rows_at_training: int | None,
        rows_now: int | None,
    ) -> str | None:
        """Why the models are due for retraining, or None when they are not.

        Args:
            now / trained_at: UTC times; ``trained_at`` None means never trained.
            rows_at_training: training-table rows the last training read (None: unknown).
            rows_now: training-table rows now (None: unknown).
        """
        if trained_at is None:
            return "never trained"
        if rows_at_training is not None and rows_now is not None:
            added = rows_now - rows_at_training
            if added >= self.new_bars:
                return f"{added} new bars since the last training (policy: {self.new_bars})"
        age = now - trained_at
        if age >= self.max_age:
            hours = age.total_seconds() / 3600
            limit = self.max_age.total_seconds() / 3600
            return f"last trained {hours:.1f} h ago (policy: every {limit:g} h)"
        return None
