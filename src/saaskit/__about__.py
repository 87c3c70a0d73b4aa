"""The installed saaskit's version (read by the build and by ``saaskit --version``)."""

__version__ = "0.1.0"
