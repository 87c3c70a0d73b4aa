"""Alembic environment: Acme's metadata (its tables and saaskit's) on saaskit's settings."""

from acme.models import Base

from saaskit.migrations import run_env

run_env(Base.metadata)
