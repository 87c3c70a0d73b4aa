"""The ``saaskit`` command line.

Example:
    ```console
    $ saaskit demo                      # the demo app on http://127.0.0.1:8000
    $ saaskit migrate                   # bring the database schema up to date
    $ saaskit createsuperuser --email admin@example.com
    $ saaskit run app.main:app --workers 4
    $ saaskit check                     # is this configuration fit for production?
    ```
"""

from saaskit.cli.root import app, main

__all__ = ["app", "main"]
