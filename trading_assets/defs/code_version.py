"""Code versions derived from the source text of the logic an asset runs.

Editing a logic module (say the resampler) changes the code version of the assets that use
it, so exactly those assets and their descendants become stale; nothing needs bumping by hand.
"""

from __future__ import annotations

import hashlib
import inspect
from types import ModuleType


def code_version_of(*modules: ModuleType, salt: str = "") -> str:
    """A short hash of the source files of ``modules`` (plus ``salt``)."""
    digest = hashlib.sha256(salt.encode())
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:12]
