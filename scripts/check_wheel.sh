#!/usr/bin/env bash
# Packaging check: build saaskit's sdist and wheel, check what they contain, then install the
# wheel into a brand-new virtualenv and use it as a new user would:
#   saaskit init demoapp; saaskit migrate; saaskit run (GET /docs answers 200);
#   in ANOTHER brand-new virtualenv, without saaskit: pip install -e '.[dev]' in the project
#   (saaskit is on no index: init copied the wheel into the project and names it), then
#   pytest, ruff and mypy in the project;
#   add a column to User; saaskit makemigrations gives one migration with just that column.
# Needs python3 (3.11+, with venv) and PyPI (or the pip-configured mirror). Usage: scripts/check_wheel.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
KEEP=${1:-}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/saaskit-wheel-check.XXXXXX")
SERVER_PID=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "$KEEP" == "--keep" ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*"; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# The checks use only what they set themselves.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(SAASKIT_[A-Za-z0-9_]*\)=.*/\1/p')
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

log "build the sdist and the wheel"
"$PYTHON" -m venv "$WORK/build-env"
"$WORK/build-env/bin/pip" install -q build
"$WORK/build-env/bin/python" -m build --outdir "$WORK/dist" "$ROOT"
VERSION=$("$PYTHON" -c 'import re,sys; print(re.search(r"__version__ = \"(.+)\"", open(sys.argv[1]).read())[1])' src/saaskit/__about__.py)
WHEEL="$WORK/dist/saaskit-$VERSION-py3-none-any.whl"
SDIST="$WORK/dist/saaskit-$VERSION.tar.gz"
[[ -f "$WHEEL" && -f "$SDIST" ]] || die "expected $WHEEL and $SDIST (version $VERSION from __about__.py)"

log "check their contents"
"$PYTHON" - "$WHEEL" "$SDIST" "$VERSION" <<'PY'
import sys, tarfile, zipfile
wheel, sdist, version = sys.argv[1:]
required = [
    "saaskit/py.typed",
    "saaskit/migrations/env.py",
    "saaskit/migrations/script.py.mako",
    "saaskit/migrations/versions/0001_initial.py",
    "saaskit/email/templates/layout.html",
    "saaskit/email/templates/verify_email.txt",
    "saaskit/auth/common_passwords.txt.gz",
    "saaskit/auth/common_passwords.NOTICE",
    "saaskit/cli/templates/project/app/main.py.j2",
    "saaskit/cli/templates/project/migrations/script.py.mako",
    "saaskit/cli/templates/project/gitignore",
    "saaskit/cli/templates/project/docker-compose.yml.j2",
    "saaskit/testing/plugin.py",
]
names = set(zipfile.ZipFile(wheel).namelist())
missing = [path for path in required if path not in names]
assert not missing, f"the wheel lacks {missing}"
meta = zipfile.ZipFile(wheel).read(f"saaskit-{version}.dist-info/METADATA").decode()
assert f"\nVersion: {version}\n" in meta, "wheel metadata version"
entry_points = zipfile.ZipFile(wheel).read(f"saaskit-{version}.dist-info/entry_points.txt").decode()
assert "saaskit = saaskit.testing.plugin" in entry_points, entry_points
assert "saaskit = saaskit.cli:main" in entry_points, entry_points
members = set(tarfile.open(sdist).getnames())
prefix = f"saaskit-{version}/src/"
missing = [path for path in required if prefix + path not in members]
assert not missing, f"the sdist lacks {missing}"
print(f"wheel: {len(names)} files; sdist: {len(members)} files; every required file is in both")
PY

log "install the wheel into a new virtualenv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$WHEEL"
export PATH="$WORK/venv/bin:$PATH"
[[ "$(saaskit --version)" == "saaskit $VERSION" ]] || die "saaskit --version"

log "saaskit init demoapp"
mkdir "$WORK/projects"
cd "$WORK/projects"
saaskit init demoapp
cd demoapp

log "saaskit migrate"
saaskit migrate

log "saaskit run serves /docs"
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
saaskit run --port "$PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
python - "$PORT" "$WORK/server.log" <<'PY' || { cat "$WORK/server.log"; die "saaskit run"; }
import sys, time, urllib.request
port, log = sys.argv[1:]
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=2) as response:
            assert response.status == 200, response.status
            print(f"GET /docs: {response.status}")
            break
    except OSError:
        if time.monotonic() > deadline:
            raise SystemExit("no answer from saaskit run after 30 s")
        time.sleep(0.2)
PY
kill "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""

log "the project installs in a brand-new virtualenv that has no saaskit"
ls wheels/saaskit-"$VERSION"-py3-none-any.whl >/dev/null || die "init did not copy the wheel into wheels/"
grep -q 'saaskit\[testing\] @ {root:uri}/wheels/' pyproject.toml || die "pyproject.toml does not name the wheel"
"$PYTHON" -m venv "$WORK/project-venv"
"$WORK/project-venv/bin/python" -c 'import saaskit' 2>/dev/null && die "the new virtualenv already has saaskit"
"$WORK/project-venv/bin/pip" install -q -e '.[dev]'
export PATH="$WORK/project-venv/bin:$PATH"
[[ "$(command -v saaskit)" == "$WORK/project-venv/bin/saaskit" ]] || die "saaskit of the project venv"
[[ "$(saaskit --version)" == "saaskit $VERSION" ]] || die "saaskit --version in the project venv"

log "the project's tests, lint and types"
python -m pytest -q -p no:cacheprovider
ruff check .
ruff format --check .
mypy app tests

log "add a column, then saaskit makemigrations"
python - <<'PY'
from pathlib import Path
models = Path("app/models.py")
text = models.read_text()
anchor = "    company: Mapped[str | None] = mapped_column(String(200), default=None)\n"
assert anchor in text
models.write_text(text.replace(anchor, anchor + "    phone: Mapped[str | None] = mapped_column(String(32), default=None)\n"))
PY
saaskit makemigrations -m "add column"
python - <<'PY'
from pathlib import Path
scripts = sorted(Path("migrations/versions").glob("*.py"))
new = [path for path in scripts if path.name != "0001_initial.py"]
assert len(new) == 1, f"expected one new migration, got {new}"
text = new[0].read_text()
upgrade = text[text.index("def upgrade") : text.index("def downgrade")]
assert upgrade.count("add_column(") == 1 and "'phone'" in upgrade, upgrade
for other in ("create_table", "drop_", "alter_column", "create_index", "create_foreign_key"):
    assert other not in upgrade, upgrade
print(f"{new[0].name}: one add_column (phone) and nothing else")
PY
saaskit migrate

log "wheel check passed"
