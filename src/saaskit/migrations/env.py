"""Alembic environment of saaskit's default models."""

from saaskit.migrations import run_env
from saaskit.models import Base

run_env(Base.metadata)
