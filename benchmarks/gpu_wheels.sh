#!/usr/bin/env bash
# Wheels for the GPU machine, downloaded HERE (it has no network): the packages clip2point needs
# (extras render + train, and pytest) that the GPU image does not already hold, for Python 3.12 on
# manylinux x86-64, plus a wheel of clip2point itself and, in DEST/build/, setuptools to build the
# tree there (the wheel is the fallback should that build fail).
#
#   bash benchmarks/gpu_wheels.sh [DEST]      # DEST default .whl (git-ignored), emptied first
#
# Which packages: the closure of clip2point's requirements, walked over the distributions installed
# in this checkout's .venv (the environment the tests pass in). Versions: requirements/lock.txt's
# pins when that constraints file exists, else the versions installed here. Subtracted: the names in
# benchmarks/gpu_image_packages.txt (what the GPU image holds, requirements included: the GPU run
# keeps its own torch, numpy, ...; a CUDA torch cannot be carried within the 64 MiB limit). A
# package with no wheel for that platform (PyOpenGL 3.1.0, pyrender's pin, ships only an sdist) is
# built here into a pure python wheel; anything else fails loudly. Fails when the wheels exceed
# WHEEL_BUDGET_MB (40).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=${1:-.whl}
BUDGET_MB=${WHEEL_BUDGET_MB:-40}
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)

rm -rf "$DEST" && mkdir -p "$DEST"
# name==version of every package to carry, one a line
mapfile -t PINS < <("$PY" - benchmarks/gpu_image_packages.txt requirements/lock.txt <<'EOF'
import re, sys
from importlib import metadata
from pathlib import Path
from packaging.requirements import Requirement

def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()

have = {norm(l.split("#")[0].strip()) for l in Path(sys.argv[1]).read_text().splitlines() if l.split("#")[0].strip()}
lock = {}
if Path(sys.argv[2]).is_file():
    for line in Path(sys.argv[2]).read_text().splitlines():
        spec = line.split("#")[0].split(";")[0].strip().rstrip("\\").strip()
        if "==" in spec:
            name, version = spec.split("==", 1)
            lock[norm(name.split("[")[0])] = version.strip()
todo = [(Requirement(r), extras) for r, extras in
        [("clip2point[render,train]", None), ("pytest", None), ("pytest-timeout", None)]]
seen: dict[str, str] = {}
while todo:
    req, _ = todo.pop()
    name = norm(req.name)
    if name in seen:
        continue
    dist = metadata.distribution(req.name)
    seen[name] = dist.version
    if name in have:
        continue  # the GPU image's own copy brings its own requirements
    for spec in dist.requires or []:
        sub = Requirement(spec)
        if sub.marker is None or any(sub.marker.evaluate({"extra": e, "python_version": "3.12", "sys_platform": "linux",
                                                          "platform_system": "Linux", "platform_machine": "x86_64"})
                                     for e in (req.extras or {""})):
            todo.append((sub, None))
for name in sorted(seen):
    if name != "clip2point" and name not in have:
        print(f"{name}=={lock.get(name, seen[name])}")
EOF
)
echo "carrying ${#PINS[@]} packages the GPU image lacks: ${PINS[*]}"
for pin in "${PINS[@]}"; do
  if ! "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
       "${PLATFORMS[@]}" -d "$DEST" "$pin" 2>/dev/null; then
    echo "no 3.12 manylinux wheel for $pin: building a pure-python one"
    built=$(mktemp -d)
    "$PY" -m pip wheel -q --no-deps -w "$built" "$pin"
    ls "$built"/*-none-any.whl >/dev/null 2>&1 || { echo "$pin did not build to a pure-python wheel" >&2; exit 1; }
    mv "$built"/*.whl "$DEST"/ && rmdir "$built"
  fi
done
"$PY" -m pip wheel -q --no-deps -w "$DEST" .  # clip2point, the fallback install
# the build backend pyproject.toml asks for, so the GPU machine builds the tree it was sent even
# when its own setuptools is older; kept apart (build/) so it never shadows that machine's at run time
"$PY" -m pip download -q --no-deps --only-binary=:all: -d "$DEST/build" "setuptools>=77"
size_mb=$(du -sm "$DEST" | cut -f1)
echo "$DEST: $(ls "$DEST"/*.whl | wc -l) wheels + build/, ${size_mb} MiB"
if (( size_mb > BUDGET_MB )); then
  echo "$DEST holds ${size_mb} MiB, over WHEEL_BUDGET_MB=${BUDGET_MB} (the GPU call carries 64 MiB in all)" >&2
  exit 1
fi
