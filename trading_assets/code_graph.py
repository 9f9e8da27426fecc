"""Source hashes over the project's import graph: what a code version covers (no Dagster here).

A module's *closure* is the module itself plus every ``trading_assets`` module it imports,
directly or transitively, including imports inside functions (the heavy libraries are imported
lazily, and the logic behind them must still be covered). The graph comes from ``grimp``
(the engine behind import-linter), built from the source files without importing them.

Package ``__init__`` modules are in a closure only when imported by name (``from
trading_assets.features import x`` where ``x`` is not a submodule); they hold docstrings and
lazy re-exports, so implicit parent packages are left out to keep versions precise.

Besides ``.py`` files, the digest covers the data files beside each module in its folder and
in sub-folders that are not packages (report templates, feed lists, alias tables).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

PACKAGE = "trading_assets"


@dataclass
class CodeGraph:
    """The import graph of the package, and hashes of its source files.

    Attributes:
        root: folder containing the package directory, where source files are read from
            (default: where this package lives). The import graph is that of the package as
            Python finds it; a copy under another ``root`` with the same imports (tests edit
            function bodies in a copy) hashes the copy's files.
        package: top-level package name.
    """

    root: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent)
    package: str = PACKAGE
    _data_files: dict[Path, list[Path]] = field(default_factory=dict, repr=False)
    _bytes: dict[Path, bytes] = field(default_factory=dict, repr=False)
    _paths: dict[str, Path] = field(default_factory=dict, repr=False)
    _closures: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @cached_property
    def _graph(self):
        import sys

        import grimp

        root = str(self.root)
        added = root not in sys.path
        if added:
            sys.path.insert(0, root)
        try:
            return grimp.build_graph(self.package, cache_dir=None)
        finally:
            if added:
                sys.path.remove(root)

    @cached_property
    def modules(self) -> frozenset[str]:
        """Every module of the package."""
        return frozenset(self._graph.modules)

    def closure(self, module: str) -> list[str]:
        """``module`` and every package module it imports, transitively, sorted.

        Raises:
            KeyError: ``module`` is not part of the package.
        """
        if module not in self._closures:
            if module not in self.modules:
                raise KeyError(f"{module} is not a module of {self.package} under {self.root}")
            self._closures[module] = sorted({module, *self._graph.find_upstream_modules(module)})
        return list(self._closures[module])

    def path_of(self, module: str) -> Path:
        """The source file of ``module`` (``__init__.py`` for a package)."""
        if module not in self._paths:
            base = self.root.joinpath(*module.split("."))
            self._paths[module] = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        return self._paths[module]

    def data_files(self, module: str) -> list[Path]:
        """Non-Python files beside ``module``: its folder and non-package sub-folders."""
        folder = self.path_of(module).parent
        if folder not in self._data_files:
            self._data_files[folder] = self._scan(folder)
        return self._data_files[folder]

    @staticmethod
    def _scan(folder: Path) -> list[Path]:
        out: list[Path] = []
        stack = [folder]
        while stack:
            current = stack.pop()
            for entry in sorted(current.iterdir()):
                if entry.name.startswith(".") or entry.name == "__pycache__":
                    continue
                if entry.is_dir():
                    if not (entry / "__init__.py").exists():
                        stack.append(entry)
                elif entry.suffix not in (".py", ".pyc"):
                    out.append(entry)
        return out

    def digest(self, modules: Iterable[str], extra: Iterable[str] = ()) -> str:
        """A 12-hex-digit hash of the closures of ``modules``, their data files and ``extra``
        strings (SQL text, config defaults)."""
        reached = sorted({m for module in modules for m in self.closure(module)})
        files = sorted(
            {self.path_of(m) for m in reached} | {f for m in reached for f in self.data_files(m)}
        )
        h = hashlib.sha256()
        for path in files:
            h.update(str(path.relative_to(self.root)).encode())
            h.update(b"\0")
            if path not in self._bytes:
                self._bytes[path] = path.read_bytes()
            h.update(self._bytes[path])
            h.update(b"\0")
        for text in extra:
            h.update(text.encode())
            h.update(b"\0")
        return h.hexdigest()[:12]
