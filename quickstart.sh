#!/usr/bin/env bash
# One entry point for a fresh machine; idempotent.
#   bash quickstart.sh render  -> set everything up, then render the built-in synthetic set to shards
#   bash quickstart.sh test    -> set everything up, then run the test suite
#   bash quickstart.sh latest  -> the same tests in .venv-latest, installed UNPINNED (today's newest
#                                 releases), to find drift from requirements/lock.txt on purpose
# Set-up = Debian EGL/Mesa libraries when missing, a virtual environment in .venv, the package
# installed with the pinned stack of requirements/lock.txt (regenerate it: bash tools/lock.sh).
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  render) extras="render" ;;
  test|latest) extras="dev" ;;
  *) echo "usage: bash quickstart.sh render|test|latest [extra args for the command]" >&2; exit 2 ;;
esac
shift || true

log() { printf '[quickstart] %s\n' "$*"; }

install_system_packages() {
  # EGL + Mesa (llvmpipe) for headless pyrender; libusb for open3d's wheel.
  local pkgs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libusb-1.0-0)
  # test: the browser the gallery's tests drive (Playwright's own browser download is not used).
  if [ "$mode" = test ]; then pkgs+=(chromium); fi
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  python_ok=1
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || { python_ok=0; missing+=(python3-venv); }
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  for c in python3.11 python3.12 python3.10 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  echo "no Python >= 3.10 found (install python3)" >&2; exit 1
}

LOCK=requirements/lock.txt

setup_venv() {
  # The stamp names what was installed: a changed pyproject.toml or lock reinstalls.
  local key; key="$(cat pyproject.toml "$LOCK" | sha1sum | cut -c1-12)"
  local stamp=".venv/.clip2point-$extras-$key"
  [ -d .venv ] || { log "creating .venv with $PY"; "$PY" -m venv .venv; }
  if [ -f "$stamp" ] || { [ "$extras" = render ] && [ -f ".venv/.clip2point-dev-$key" ]; }; then
    log "environment up to date ($extras, $LOCK)"
    return 0
  fi
  log "installing clip2point[$extras] into .venv, pinned by $LOCK"
  .venv/bin/python -m pip install -q -c "$LOCK" --upgrade pip
  .venv/bin/python -m pip install -q -c "$LOCK" -e ".[$extras]"
  touch "$stamp"
}

setup_latest_venv() {
  # Deliberately unpinned and upgraded every time: what a newcomer without the lock would get today.
  [ -d .venv-latest ] || { log "creating .venv-latest with $PY"; "$PY" -m venv .venv-latest; }
  log "installing clip2point[dev] into .venv-latest UNPINNED (newest releases pyproject.toml allows)"
  .venv-latest/bin/python -m pip install -q --upgrade pip
  .venv-latest/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev]"
  log "releases that differ from $LOCK (lock -> latest):"
  .venv-latest/bin/python -m pip freeze --all --exclude-editable \
    | awk -F'==' 'NR == FNR { if ($0 !~ /^#/) pin[tolower($1)] = $2; next }
                  { n = tolower($1); if (!(n in pin)) print "  " $1 ": (not in lock) -> " $2;
                    else if (pin[n] != $2) print "  " $1 ": " pin[n] " -> " $2; else next; moved++ }
                  END { if (!moved) print "  none" }' "$LOCK" - || true
}

PY="$(pick_python)"
install_system_packages
if [ "$mode" = latest ]; then setup_latest_venv; else setup_venv; fi
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"

case "$mode" in
  render)
    log "rendering the built-in synthetic set into out/synthetic-shards"
    exec .venv/bin/clip2point render --out out/synthetic-shards "$@"
    ;;
  test)
    log "running the test suite"
    exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
    ;;
  latest)
    log "running the test suite against the latest releases"
    exec .venv-latest/bin/python -m pytest -q -p no:cacheprovider "$@"
    ;;
esac
