"""The state every source file ends in, and what to do about the ones that did not land.

Every file in the data folder or the inbox ends a run in exactly one state, recorded in
``ops.source_items``:

=================  ==========  ==============================================================
state              severity    meaning
=================  ==========  ==============================================================
``landed``         -           every row stored (rows held back by rule, such as a partial
                               last candle, are listed in ``ops.rejected_rows`` with
                               ``bad = false``)
``partly_landed``  WARN        good rows stored; the bad ones (at most the allowed share,
                               5% by default) are in ``ops.rejected_rows``
``rejected``       ERROR       nothing stored: the file cannot be read, its symbol or
                               timeframe is unknown, or too many of its rows are bad
``ignored``        -           by rule: not a price file (news, notes, API captures...), or
                               ``skip = true`` in the mapping file
=================  ==========  ==============================================================

A problem (``partly_landed`` or ``rejected``) carries a reason and a fix, e.g. the mapping
file entry to add for a file whose name does not tell the symbol.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LANDED = "landed"
PARTLY_LANDED = "partly_landed"
REJECTED = "rejected"
IGNORED = "ignored"
#: every state, in the order summaries list them
STATES: tuple[str, ...] = (LANDED, PARTLY_LANDED, REJECTED, IGNORED)
#: states of a file whose rows are stored (``ok`` is the state's name before these existed)
STORED: tuple[str, ...] = (LANDED, PARTLY_LANDED, "ok")
#: problem state -> severity of the ``sources_loaded`` check and of the run's exit status
SEVERITY: dict[str, str] = {PARTLY_LANDED: "WARN", REJECTED: "ERROR"}

#: default largest share of bad rows a file may have and still land partly
MAX_BAD_ROW_SHARE = 0.05


@dataclass(frozen=True)
class Problem:
    """A file that did not land whole.

    Attributes:
        origin: the file path.
        state: ``partly_landed`` or ``rejected``.
        reason: what is wrong, in plain words (names the row and field when known).
        fix: what to do about it.
        row / field: where, when known.
        symbol: the symbol the file is for, when known.
    """

    origin: str
    state: str
    reason: str
    fix: str
    row: int | None = None
    field: str | None = None
    symbol: str | None = None

    @property
    def severity(self) -> str:
        """``WARN`` or ``ERROR`` (see :data:`SEVERITY`)."""
        return SEVERITY.get(self.state, "ERROR")

    def as_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict (with its severity)."""
        return {**asdict(self), "severity": self.severity}


def mapping_entry(origin: str, key: str, value: str) -> str:
    """The TOML entry of a mapping file (``TRADING_SYMBOL_MAP``) that sets ``key`` for the
    file ``origin``, e.g. ``[[files]] pattern = "SAND-1d.csv" symbol = "..."``."""
    text = value if value in ("true", "false") else f'"{value}"'
    return f'[[files]] pattern = "{Path(origin).name}" {key} = {text}'


def fix_for(
    origin: str, state: str, field: str | None, row: int | None, *, over_share: bool = False
) -> str:
    """The fix to suggest for a problem file (see :class:`Problem`)."""
    mapping = "in the mapping file named by TRADING_SYMBOL_MAP"
    if field == "symbol":
        return f"add {mapping_entry(origin, 'symbol', '<SYMBOL>')} {mapping}"
    if field == "timeframe":
        return f"add {mapping_entry(origin, 'timeframe', '1h')} (its timeframe) {mapping}"
    if state == PARTLY_LANDED:
        return (
            "the good rows landed; correct the rows listed in ops.rejected_rows in the file "
            "to land them too"
        )
    if over_share:
        return (
            "correct the rows listed in ops.rejected_rows (row, field, reason, raw text) and "
            "drop the file again, or raise max_bad_row_share in the ingestion run config"
        )
    if row is not None:
        where = f"row {row}" + (f" (field {field!r})" if field else "")
        skip = mapping_entry(origin, "skip", "true")
        return f"correct {where} of the file, or skip the file with {skip} {mapping}"
    return (
        "check that the file is complete and in a supported layout; name its format with "
        f"{mapping_entry(origin, 'format', '<format>')} {mapping}, or skip it"
    )
