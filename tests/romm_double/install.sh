#!/usr/bin/env bash
# Installs the RomM client double's libraries (requirements.txt: RomM's pinned authlib,
# httpx, starlette, ...) into tests/romm_double/.venv from the Python package index,
# unless the venv already holds exactly that set. Safe to run concurrently (flock).
#
# Interpreter: Python 3.13 when one runs (RomM's image runs 3.13): python3.13 on PATH,
# else a pyenv-installed 3.13 (whose shim may not run when pyenv's global version is
# another); else python3, and the double makes it verify TLS as 3.13 does.
# Prints nothing on success but one line on stderr when it installed something.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
requirements="$here/requirements.txt"
stamp="$venv/installed-requirements.txt"

need() {
  echo "romm-double: $1. The RomM client double (tests/romm_double) needs Python 3 with" \
    "venv and pip (Python 3.13, as in RomM's image, when available), and access to the" \
    "Python package index on first use; on Debian/Ubuntu: apt-get install python3" \
    "python3-venv python3-pip. These tests are never skipped." >&2
  exit 1
}

installed() { [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; }

installed && exit 0

command -v flock >/dev/null || need "flock (util-linux) is missing"
exec 9>"$here/.install.lock"
flock -w 600 9 || need "another install held $here/.install.lock for 10 minutes"
installed && exit 0

candidates=(python3.13)
for pyenv_python in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
  candidates+=("$pyenv_python")
done
candidates+=(python3)
python=""
for candidate in "${candidates[@]}"; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import venv' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || need "no python3.13 or python3 with the venv module on PATH"

rm -rf "$venv"
"$python" -m venv "$venv" >&2 || need "\`$python -m venv $venv\` failed (python3-venv missing?)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  -r "$requirements" >&2 ||
  need "\`pip install -r $requirements\` failed (no access to the Python package index?)"
cp "$requirements" "$stamp"
echo "romm-double: installed RomM's pinned libraries into $venv ($("$venv/bin/python" -V 2>&1))" >&2
