"""Prometheus' multiprocess mode for ``saaskit run --workers N``.

Each worker process writes its samples to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``, and a scrape answered by any worker adds up every
process's files, so the counts are the app's, not one worker's. The variable must be
set before ``prometheus_client`` is imported in the workers, so ``saaskit run`` sets it
(to a fresh folder, removed at exit) before it starts them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_metrics() -> Path:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder for the workers to start.

    A folder the operator set is used, emptied of the samples of an earlier run (the
    client's documented requirement); else a new temporary one, removed at exit.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder
    folder = Path(tempfile.mkdtemp(prefix="saaskit-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def multiprocess_mode() -> bool:
    """Whether this process writes its samples for a multiprocess scrape."""
    return bool(os.environ.get(MULTIPROC_ENV))
