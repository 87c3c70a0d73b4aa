"""Regenerate, or check, the demo's OpenAPI schema and the API clients generated from it.

    python scripts/generate_clients.py           # rewrite clients/
    python scripts/generate_clients.py --check   # change nothing; exit 1 listing what drifted

Three outputs, all committed under ``clients/``:

1. ``openapi.json``: the schema of the demo app (``saaskit.demo.app.create_app``), built
   with fixed settings so the environment cannot change it;
2. ``python/saaskit-demo-client``: ``openapi-python-client --fail-on-warning`` (pinned in
   ``clients/python/requirements.txt``), run in a virtualenv of its own under
   ``clients/python/.venv`` (git-ignored): the generator pins an older httpx and typer
   than saaskit's, and must not decide the versions saaskit is tested with;
3. ``typescript/src/generated``: ``@hey-api/openapi-ts`` (pinned with TypeScript in
   ``clients/typescript/package-lock.json``), installed with ``npm ci``.

Needs Python 3.11+, Node.js 20.19+ and npm, and the package registries (PyPI, npm) the
first time; later runs reuse the virtualenv and ``node_modules`` while the pins are
unchanged. ``--check`` generates into a temporary folder and compares file by file.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "clients"
SCHEMA = CLIENTS / "openapi.json"
PYTHON = CLIENTS / "python"
PYTHON_PROJECT = "saaskit-demo-client"
TYPESCRIPT = CLIENTS / "typescript"
TS_GENERATED = Path("src") / "generated"
IGNORED = {"__pycache__", ".venv", "node_modules", ".ruff_cache", ".mypy_cache"}


def demo_schema() -> str:
    """The demo app's OpenAPI document as committed: sorted keys, 2-space indent."""
    sys.path.insert(0, str(ROOT / "src"))
    # The defaults, whatever SAASKIT_* variables this shell has; a fixed key, so importing
    # the demo module (which builds its app) writes no development key file.
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SAASKIT_")}
    os.environ["SAASKIT_SECRET_KEY"] = "schema-generation-only-0123456789abcdef"
    try:
        from saaskit.demo.app import create_app
        from saaskit.settings import SaaSKitSettings

        settings = SaaSKitSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url="sqlite+aiosqlite:///:memory:",
        )
    finally:
        os.environ.pop("SAASKIT_SECRET_KEY")
        os.environ.update(saved)
    app = create_app(settings)
    try:
        return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    finally:
        app.state.kit.passwords.close()


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _stamp(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def python_generator() -> Path:
    """The ``openapi-python-client`` executable of the pinned, private virtualenv."""
    env_dir = PYTHON / ".venv"
    marker = env_dir / "requirements.sha256"
    requirements = PYTHON / "requirements.txt"
    if not marker.exists() or marker.read_text() != _stamp(requirements):
        shutil.rmtree(env_dir, ignore_errors=True)
        venv.create(env_dir, with_pip=True)
        pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
        _run([*pip, "--no-deps", "-r", str(requirements)], ROOT)
        marker.write_text(_stamp(requirements))
    return env_dir / "bin" / "openapi-python-client"


def typescript_tools() -> Path:
    """``clients/typescript/node_modules`` as the lockfile says (``npm ci`` when it changed)."""
    modules = TYPESCRIPT / "node_modules"
    marker = modules / ".lock.sha256"
    lockfile = TYPESCRIPT / "package-lock.json"
    if not marker.exists() or marker.read_text() != _stamp(lockfile):
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], TYPESCRIPT)
        marker.write_text(_stamp(lockfile))
    return modules / ".bin"


def generate(schema: Path, out: Path) -> None:
    """Write both clients for ``schema`` under ``out`` (``python/...``, ``typescript/...``)."""
    target = out / "python" / PYTHON_PROJECT
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [str(python_generator()), "generate", "--path", str(schema)]
    command += ["--config", str(PYTHON / "config.yaml"), "--meta", "pdm", "--fail-on-warning"]
    command += ["--custom-template-path", str(PYTHON / "templates")]
    command += ["--output-path", str(target)]
    # The generator formats its output with the ruff of its virtualenv, found on PATH.
    env_bin = str(python_generator().parent)
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": env_bin + os.pathsep + os.environ.get("PATH", "")},
    )
    if result.returncode != 0:
        sys.exit(f"openapi-python-client failed:\n{result.stdout}{result.stderr}")

    bin_dir = typescript_tools()
    ts_out = out / "typescript" / TS_GENERATED
    shutil.rmtree(ts_out, ignore_errors=True)
    _run(
        [str(bin_dir / "openapi-ts"), "--input", str(schema), "--output", str(ts_out)],
        TYPESCRIPT,
    )


def _files(folder: Path) -> set[Path]:
    return {
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and not IGNORED & set(p.relative_to(folder).parts)
    }


def drift(expected: Path, committed: Path) -> list[str]:
    """Files that differ between two trees (missing on either side, or other content)."""
    if not committed.is_dir():
        return [f"{committed}: missing"]
    ours, theirs = _files(expected), _files(committed)
    found = [f"{p}: not generated any more" for p in sorted(theirs - ours)]
    found += [f"{p}: missing" for p in sorted(ours - theirs)]
    found += [
        f"{p}: differs"
        for p in sorted(ours & theirs)
        if not filecmp.cmp(expected / p, committed / p, shallow=False)
    ]
    return found


def check() -> list[str]:
    """What drifted: the schema from the code, the clients from the schema."""
    problems = []
    if not SCHEMA.exists() or SCHEMA.read_text("utf-8") != demo_schema():
        problems.append("clients/openapi.json: differs from the demo app's schema")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "openapi.json").write_text(demo_schema(), "utf-8")
        generate(out / "openapi.json", out)
        for part in (Path("python") / PYTHON_PROJECT, Path("typescript") / TS_GENERATED):
            problems += [f"clients/{part}/{p}" for p in drift(out / part, CLIENTS / part)]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; report drift")
    args = parser.parse_args()
    if args.check:
        problems = check()
        if problems:
            print("Out of date; run python scripts/generate_clients.py:", *problems, sep="\n  ")
            sys.exit(1)
        print("clients/ is up to date")
        return
    SCHEMA.write_text(demo_schema(), "utf-8")
    generate(SCHEMA, CLIENTS)
    print(f"wrote {SCHEMA.relative_to(ROOT)} and the clients under {CLIENTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
