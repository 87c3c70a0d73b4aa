"""A host project using the sample feature: its own Base, User and Alembic environment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from saaskit.db import UserMixin
from saaskit.migrations import PACKAGED_VERSIONS
from saaskit.models import NAMING_CONVENTION
from saaskit.tables import build_models
from tests.features.sample.wiring import SampleFeature

ALEMBIC = Path(__file__).parent / "alembic"


class HostBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class HostUser(UserMixin, HostBase):
    __tablename__ = "users"


# The host's models module declares the feature's tables with saaskit's, so Alembic
# autogenerate (and `alembic check`) sees them.
host_models = build_models(HostBase, HostUser, features=[SampleFeature()])


def write_alembic_ini(folder: Path, url: str) -> Path:
    """A host project's ``alembic.ini``: its env, saaskit's revisions and the feature's."""
    ini = folder / "alembic.ini"
    ini.write_text(
        "[alembic]\n"
        f"script_location = {ALEMBIC}\n"
        "path_separator = space\n"
        f"version_locations = {PACKAGED_VERSIONS} tests.features.sample:migrations\n"
        f"sqlalchemy.url = {url.replace('%', '%%')}\n",
        encoding="utf-8",
    )
    return ini
