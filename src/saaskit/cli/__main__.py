"""``python -m saaskit.cli``: the same as the ``saaskit`` command."""

from saaskit.cli import main

main()
