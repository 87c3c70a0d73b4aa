"""Alembic environment of the sample host: saaskit's tables and the sample feature's."""

from tests.features.helpers import HostBase

from saaskit.migrations import run_env

run_env(HostBase.metadata)
