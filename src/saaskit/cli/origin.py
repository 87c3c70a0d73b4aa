"""Where the running saaskit was installed from, so a generated project can install it too.

saaskit is not on a package index yet: a project that depends on ``saaskit>=0.1`` cannot be
installed in a new virtualenv. ``saaskit init`` therefore records the source pip used (PEP 610
``direct_url.json``): a local checkout (``saaskit @ file:///path/to/saaskit``), a wheel (copied
into the project's ``wheels/`` and named relative to the project), or a VCS URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname


@dataclass(frozen=True)
class SaaskitSource:
    """How a project names saaskit in its dependencies.

    Attributes:
        reference: the PEP 508 direct reference after ``@`` (``None``: the package index).
        wheel: a wheel file to copy into the project's ``wheels/`` (then ``reference`` is
            relative to the project root, ``{root:uri}/wheels/...``).
        description: where saaskit comes from, for people.
    """

    reference: str | None = None
    wheel: Path | None = None
    description: str = "the package index"

    def requirement(self, extras: str, version: str) -> str:
        """The dependency line, e.g. ``saaskit[postgres] @ file:///src/saaskit``."""
        if self.reference is None:
            return f"saaskit[{extras}]>={version}"
        return f"saaskit[{extras}] @ {self.reference}"


INDEX = SaaskitSource()


def _file_path(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(unquote(parsed.path)))


def source_from_direct_url(direct_url: dict[str, object]) -> SaaskitSource:
    """The source that a PEP 610 ``direct_url.json`` describes."""
    url = str(direct_url.get("url", ""))
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id")
        reference = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
        return SaaskitSource(reference, description=reference)
    path = _file_path(url)
    if path is not None and path.suffix == ".whl":
        if path.is_file():
            reference = "{root:uri}/wheels/" + path.name
            return SaaskitSource(reference, wheel=path, description=f"wheels/{path.name}")
        return INDEX  # the wheel is gone: nothing better than the index to name
    if path is not None:
        return SaaskitSource(url, description=str(path))
    return SaaskitSource(url, description=url) if url else INDEX


def installed_source() -> SaaskitSource:
    """Where the saaskit running this command was installed from."""
    try:
        text = metadata.distribution("saaskit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return INDEX
    if not text:
        return INDEX
    try:
        data = json.loads(text)
    except ValueError:
        return INDEX
    return source_from_direct_url(data) if isinstance(data, dict) else INDEX
