"""The ``saaskit`` command line.

Example:
    ```console
    $ saaskit demo                      # the demo app on http://127.0.0.1:8000
    $ saaskit migrate                   # bring the database schema up to date
    $ saaskit createsuperuser --email admin@example.com
    $ saaskit run app.main:app --workers 4
    $ saaskit check                     # is this configuration fit for production?
    ```

The commands (and so FastAPI, SQLAlchemy, Alembic) are imported on first use:
``saaskit --version`` answers without them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saaskit.cli.root import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``saaskit`` console script."""
    if sys.argv[1:] == ["--version"]:
        from saaskit.__about__ import __version__

        print(f"saaskit {__version__}")
        return
    from saaskit.cli.root import main as run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from saaskit.cli.root import app

        return app
    raise AttributeError(f"module 'saaskit.cli' has no attribute {name!r}")
