"""Champions and fitted models for the live path, served without MLflow while the registry
file is unchanged.

Live predictions run on every new bar. Resolving each family's ``champion`` alias through
``MlflowClient`` costs importing MLflow and opening its store (about 1.5-3 s in a fresh
process), and downloading each version's artifacts copies them again on every run, although
neither changed since the last bar. :class:`ServedCache` (a folder of the project home) keeps:

- ``champions.json``: for a SQLite registry (``sqlite:///<path>``), the champion (version
  and run id, or none) of each model name, stored with the registry file's *signature*
  (size and modification time in ns of the database and its journal/WAL files) taken BEFORE
  the aliases were read. A run whose signature matches uses the stored champions; any write
  to the registry (a training, an alias moved by hand in the MLflow UI) changes the file and
  so the signature, and the aliases are read from MLflow again. Other stores (Postgres, an
  HTTP server) are always asked: no cheap signature exists for them.
- ``models/<name>/<version>-<run id>.pkl``: the pickled fitted model of a registered version
  (versions are immutable; the run id guards against a registry that was reset and reuses
  a version number), copied once from the version's artifacts, written atomically.

Files are JSON and pickles this package wrote itself; a corrupt or unreadable entry is
ignored and rebuilt from MLflow.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class ChampionRef:
    """The version a ``champion`` alias points to: registry ``version`` and its ``run_id``."""

    version: str
    run_id: str


def registry_signature(tracking_uri: str) -> str | None:
    """Size and mtime (ns) of a SQLite registry's files, as text; None for any other store
    or a missing file."""
    if not tracking_uri.startswith(SQLITE_PREFIX):
        return None
    path = Path(tracking_uri[len(SQLITE_PREFIX) :])
    parts = []
    for suffix in ("", "-journal", "-wal"):
        try:
            stat = os.stat(f"{path}{suffix}")
        except FileNotFoundError:
            if not suffix:
                return None
            continue
        parts.append(f"{suffix or 'db'}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_atomically(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, mode) as out:
            write(out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class ServedCache:
    """The live path's cache in ``folder`` (see the module docstring).

    Args:
        folder: e.g. ``<home>/cache/served``; created on first write.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        """Lookups answered from the cache in this process (champion sets and models)."""
        self.champions_cached: bool | None = None
        """Whether the last :meth:`champions` call was answered from the cache."""

    @property
    def _champions_file(self) -> Path:
        return self.folder / "champions.json"

    def champions(
        self,
        tracking_uri: str,
        names: Sequence[str],
        resolve: Callable[[str], ChampionRef | None],
    ) -> dict[str, ChampionRef | None]:
        """The champion of each of ``names``: from the cache when the registry's signature
        is the stored one and every name is stored, else ``resolve(name)`` for each (an
        MLflow lookup), stored for the next run."""
        before = registry_signature(tracking_uri)
        stored = self._read_champions()
        if (
            before is not None
            and stored.get("uri") == tracking_uri
            and stored.get("signature") == before
            and set(names) <= set(stored.get("champions", {}))
        ):
            self.hits += 1
            self.champions_cached = True
            return {n: _ref(stored["champions"][n]) for n in names}
        self.champions_cached = False
        found = {n: resolve(n) for n in names}
        if before is not None:
            known = stored.get("champions", {}) if stored.get("signature") == before else {}
            known.update({n: (r.__dict__ if r else None) for n, r in found.items()})
            entry = {"uri": tracking_uri, "signature": before, "champions": known}
            _write_atomically(self._champions_file, lambda out: json.dump(entry, out))
        return found

    def stored_champions(self, tracking_uri: str) -> dict[str, ChampionRef]:
        """The champions stored for ``tracking_uri`` while its registry file is unchanged
        (name -> version; names without a champion left out); empty when the registry
        changed since, or for a store without a file signature. Reads no MLflow."""
        signature = registry_signature(tracking_uri)
        stored = self._read_champions()
        if signature is None or stored.get("uri") != tracking_uri:
            return {}
        if stored.get("signature") != signature:
            return {}
        return {n: ChampionRef(**e) for n, e in stored.get("champions", {}).items() if e}

    def fitted(self, name: str, ref: ChampionRef, artifact: Callable[[], Path]) -> Any:
        """The fitted model of version ``ref`` of ``name``: unpickled from the cache, else
        from ``artifact()`` (the downloaded pickle file), which is copied into the cache."""
        path = self._fitted_path(name, ref)
        if path.exists():
            try:
                with path.open("rb") as handle:
                    model = pickle.load(handle)  # noqa: S301 - a copy of our own artifact
                self.hits += 1
                return model
            except (OSError, pickle.UnpicklingError, EOFError):
                path.unlink(missing_ok=True)
        source = artifact()
        with source.open("rb") as handle:
            model = pickle.load(handle)  # noqa: S301 - our own artifact store

        def copy(out: Any) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out)

        _write_atomically(path, copy, "wb")
        return model

    def has_fitted(self, name: str, ref: ChampionRef) -> bool:
        """Whether the cache holds a copy of version ``ref`` of ``name``."""
        return self._fitted_path(name, ref).exists()

    def _fitted_path(self, name: str, ref: ChampionRef) -> Path:
        file = f"{_safe(ref.version)}-{_safe(ref.run_id)}.pkl"
        return self.folder / "models" / _safe(name) / file

    def _read_champions(self) -> dict:
        try:
            return json.loads(self._champions_file.read_text())
        except (OSError, ValueError):
            return {}


def _ref(entry: dict | None) -> ChampionRef | None:
    return ChampionRef(**entry) if entry else None


__all__ = ["ChampionRef", "ServedCache", "registry_signature"]
