"""Run every ``benchmarks/bench_*.py`` module, one process each, and print their tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run each benchmark module in turn; returns the number that failed to run."""
    failed = 0
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        module = f"benchmarks.{path.stem}"
        print(f"\n=== {module}", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
