#!/usr/bin/env bash
# GPU acceptance (issue 17): the first CUDA run of the whole pipeline -- one script, at most about
# 8 minutes on one H200, one JSON + one log under $OUT. Every step runs under `timeout`, inside one
# overall budget (GPU_ACCEPTANCE_BUDGET_S, default 470 s), and is recorded (pass / fail / timeout /
# skip, seconds, its JSON result or failing tail) even when it fails; the script goes on.
#
# 1. PREPARE, on a machine with network, in the repo root of the checkout the GPU session runs from
#    (the GPU machine has no network and gets only that checkout, not ../shared):
#        bash benchmarks/gpu_acceptance.sh --prepare
#    fills three git-ignored folders (about 25 MiB together; the call carries 64 MiB in all):
#        .whl/       wheels the GPU image lacks, for its Python 3.12 (benchmarks/gpu_wheels.sh:
#                    requirements/lock.txt's pins when present, else this .venv's versions)
#        .gpu-data/  golden/clip2point_depth_golden.npz and meshes/ copied from ../shared/data
#                    (or $CLIP2POINT_SHARED_DATA); every step reads them through CLIP2POINT_SHARED_DATA
#        .gl/        the GL/EGL loader .debs (libglvnd) that the NVIDIA driver's EGL needs there
# 2. RUN on the GPU machine with the device tool (one call; 560 s leaves the rest of 15 minutes
#    of device time for the machine's start and one rerun):
#        run(command="bash benchmarks/gpu_acceptance.sh", carry=[".whl", ".gpu-data", ".gl"], timeout_s=560)
#    then copy figures from $OUT/gpu_acceptance.json into benchmarks/RESULTS.md (date, device).
#    $OUT also gets gpu_acceptance.log (every step's full output) and pip_list.txt (the GPU image's
#    packages: refresh benchmarks/gpu_image_packages.txt from it).
# 3. DRY RUN on a CPU machine:
#        GPU_ACCEPTANCE_QUICK=1 bash benchmarks/gpu_acceptance.sh
#    CUDA-only steps are skipped with one line each, the benchmarks run at toy sizes on the CPU,
#    OUT defaults to ./gpu-acceptance-out, exit status 0. GPU_ACCEPTANCE_QUICK is ignored when CUDA
#    is present: the GPU run is always full size.
# A RERUN of some steps only (after a fix, in the time left): GPU_ACCEPTANCE_STEPS=train_step,rgb
# (install and egl always run). PYTHON picks the interpreter (default .venv/bin/python, else python3).
#
# Steps: install -> egl -> gpu_tests (pytest -m gpu: CUDA depth, bf16 and fp16/GradScaler pre-training
# of ViT-B/32 from a random --pretrained FILE) -> train_step (ViT-B/32, batch 256, optimised vs
# reference) -> depth (maps/s, GPU vs CPU on the golden clouds) -> torchrun (one-GPU run SIGKILLed
# mid-epoch, resumed, weights equal to an uninterrupted run's) -> rgb (NVIDIA EGL, several workers)
# -> generation (real meshes, 52,460-object projection). Exit status: 1 if a step failed or timed out.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  src=${CLIP2POINT_SHARED_DATA:-$REPO/../shared/data}
  [[ -f $src/golden/clip2point_depth_golden.npz && -d $src/meshes ]] || {
    echo "no golden/ and meshes/ under $src: set CLIP2POINT_SHARED_DATA to the shared data folder" >&2; exit 1; }
  bash benchmarks/gpu_wheels.sh .whl
  rm -rf .gpu-data && mkdir -p .gpu-data/golden
  cp "$src/golden/clip2point_depth_golden.npz" .gpu-data/golden/
  cp -r "$src/meshes" .gpu-data/meshes
  rm -rf .gl /tmp/c2p-apt-lists && mkdir -p .gl /tmp/c2p-apt-lists/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/c2p-apt-lists)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
  tree_mb=$(git ls-files -co --exclude-standard -z | du -cm --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  carry_mb=$(du -cm .whl .gpu-data .gl | tail -1 | cut -f1)
  echo "prepared: .whl $(du -sm .whl | cut -f1) MiB, .gpu-data $(du -sm .gpu-data | cut -f1) MiB," \
       ".gl $(du -sm .gl | cut -f1) MiB; with the tree about $((tree_mb + carry_mb)) MiB of the 64 MiB a call carries"
  (( tree_mb + carry_mb <= 62 )) || { echo "over the device tool's 64 MiB carry limit" >&2; exit 1; }
  exit 0
fi

PY=${PYTHON:-$([[ -x .venv/bin/python ]] && echo "$REPO/.venv/bin/python" || echo python3)}
OUT=${OUT:-$REPO/gpu-acceptance-out}
mkdir -p "$OUT"
LOG=$OUT/gpu_acceptance.log
: > "$LOG"
STEPS=$(mktemp -d)  # one record per step, merged into $OUT/gpu_acceptance.json at the end
BUDGET_S=${GPU_ACCEPTANCE_BUDGET_S:-470}
SITE=/tmp/c2p-site
WHEELS=${GPU_ACCEPTANCE_WHEELS:-.whl}  # the carried wheel folder (relative to the repo root)
DATA=${GPU_ACCEPTANCE_DATA:-$REPO/.gpu-data}
[[ -d $DATA ]] || DATA=${CLIP2POINT_SHARED_DATA:-$REPO/../shared/data}
export CLIP2POINT_SHARED_DATA=$DATA PYTHONUNBUFFERED=1
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then CUDA=1; else CUDA=0; fi
QUICK=0
if [[ -n "${GPU_ACCEPTANCE_QUICK:-}" && $CUDA == 1 ]]; then
  echo "GPU_ACCEPTANCE_QUICK ignored: CUDA is present, the GPU run is full size" | tee -a "$LOG"
elif [[ -n "${GPU_ACCEPTANCE_QUICK:-}" ]]; then
  QUICK=1 && export OMP_NUM_THREADS=1
fi
echo "gpu acceptance: python $PY, cuda=$CUDA, quick=$QUICK, data $DATA, out $OUT, budget ${BUDGET_S}s" | tee -a "$LOG"

record() {  # record NAME STATUS RC SECONDS NOTE
  printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" > "$STEPS/$1.rec"
}

skip() {  # skip NAME WHY: one line, recorded
  echo "SKIP $1: $2" | tee -a "$LOG"
  record "$1" skip "" 0 "$2"
}

step() {  # step NAME LIMIT_S COMMAND...: run under timeout, output to the log, status recorded
  local name=$1 limit=$2 left=$((BUDGET_S - SECONDS)) t0=$SECONDS rc status
  shift 2
  if [[ -n "${GPU_ACCEPTANCE_STEPS:-}" && ! ",install,egl,$GPU_ACCEPTANCE_STEPS," == *",$name,"* ]]; then
    skip "$name" "not in GPU_ACCEPTANCE_STEPS=$GPU_ACCEPTANCE_STEPS"; return
  fi
  if (( left < 15 )); then skip "$name" "the ${BUDGET_S}s budget is spent"; return; fi
  (( limit > left )) && limit=$left
  echo "=== $name (limit ${limit}s): $*" | tee -a "$LOG"
  timeout -k 10 "$limit" "$@" > "$STEPS/$name.out" 2>&1
  rc=$?
  cat "$STEPS/$name.out" >> "$LOG"
  case $rc in 0) status=pass ;; 124|137) status=timeout ;; *) status=fail ;; esac
  record "$name" "$status" "$rc" "$((SECONDS - t0))" ""
  echo "--- $name: $status (rc $rc, $((SECONDS - t0)) s)" | tee -a "$LOG"
  [[ $status == pass ]] || tail -n 15 "$STEPS/$name.out"
}

# -- 1. install: only what the GPU image lacks, from the carried wheels (no network there) --------
"$PY" -m pip list --format=freeze > "$OUT/pip_list.txt" 2>/dev/null
IMPORTS="import clip2point.train.trainer, clip2point.render.rgb, open_clip, pyrender, trimesh"
if [[ -z "${GPU_ACCEPTANCE_INSTALL:-}" ]] && "$PY" -c "$IMPORTS" 2>/dev/null; then  # =1: install anyway
  step install 60 "$PY" -c "$IMPORTS; import clip2point, json; print(json.dumps({'installed': [], \
'note': 'everything already importable', 'clip2point': clip2point.__file__}))"
elif [[ -d $WHEELS ]]; then
  step install 120 bash -c "set -e; rm -rf $SITE
    '$PY' -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $SITE $WHEELS/*.whl
    rm -rf /tmp/c2p-build; '$PY' -m pip install -q --no-index --no-deps --target /tmp/c2p-build $WHEELS/build/*.whl || true
    if PYTHONPATH=/tmp/c2p-build '$PY' -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
         --upgrade --target $SITE . >/tmp/c2p-tree-build.log 2>&1; then how='built from this tree'
    else how='the prepared wheel (this machine cannot build the tree: see the log)'; cat /tmp/c2p-tree-build.log; fi
    PYTHONPATH=$SITE '$PY' -c \"$IMPORTS; import json, os; print(json.dumps({'installed': sorted(f for f in os.listdir('$WHEELS') if f.endswith('.whl')), \
'clip2point': '\$how'}))\""
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
else
  step install 5 bash -c "echo 'clip2point or its dependencies are missing and there is no $WHEELS folder: run \
bash benchmarks/gpu_acceptance.sh --prepare where there is network, and carry .whl' >&2; exit 1"
fi
"$PY" -c "import json, platform, torch; c = torch.cuda.is_available(); print(json.dumps({'python': \
platform.python_version(), 'torch': torch.__version__, 'cuda': torch.version.cuda if c else None, \
'gpu': torch.cuda.get_device_name() if c else None}))" > "$STEPS/environment.json" 2>>"$LOG"
nvidia-smi -L >> "$LOG" 2>&1 || true

# -- EGL through the NVIDIA driver: the GL loader libraries the image lacks, unpacked from .gl/ ----
if [[ $CUDA == 0 ]]; then
  skip egl "no CUDA device: NVIDIA EGL set-up not done (the CPU renders with Mesa's llvmpipe)"
else
  vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [[ -f $vendor ]] && export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
  if ldconfig -p | grep -q 'libEGL.so.1 '; then
    step egl 15 bash -c "echo libEGL already present; ldconfig -p | grep -E 'libEGL|libGL' | head"
  elif [[ -d .gl && $(id -u) == 0 ]]; then
    step egl 30 bash -c "for f in .gl/*.deb; do dpkg -x \$f /; done; ldconfig; ldconfig -p | grep -E 'libEGL|libOpenGL'"
  else
    step egl 5 bash -c "echo 'libEGL is missing and .gl/ is not carried (or not root): run --prepare and carry .gl' >&2; exit 1"
  fi
fi

# -- 2. CUDA-marked tests: CUDA depth, bf16 + fp16/GradScaler pre-training of ViT-B/32 -----------
if [[ $CUDA == 0 ]]; then
  skip gpu_tests "no CUDA device: pytest -m gpu (CUDA depth, ViT-B/32 bf16 and fp16 pre-training) not run"
else
  step gpu_tests 150 "$PY" -m pytest -q -p no:cacheprovider -m gpu -k "not torchrun" -rfEs --timeout 140 \
    --junitxml="$STEPS/gpu_tests.xml" tests
fi

# -- 3. pre-training step: optimised vs reference recipe ----------------------------------------
if [[ $QUICK == 1 ]]; then
  step train_step 120 "$PY" benchmarks/train_step.py --device cpu --batch-size 8 --steps 2 --warmup 1 --threads 1
elif [[ $CUDA == 1 ]]; then
  step train_step 150 "$PY" benchmarks/train_step.py --device cuda --model ViT-B-32 --batch-size 256 --workers 4
else
  skip train_step "no CUDA device (GPU_ACCEPTANCE_QUICK=1 runs it on the CPU at toy size)"
fi

# -- 4. depth projector: maps/s, GPU vs CPU on the golden clouds --------------------------------
if [[ $QUICK == 1 ]]; then
  step depth 60 "$PY" benchmarks/depth_projection.py --threads 1 --repeats 1
elif [[ $CUDA == 1 ]]; then
  step depth 60 "$PY" benchmarks/depth_projection.py --threads 8 --repeats 5 \
    --golden "$DATA/golden/clip2point_depth_golden.npz"
else
  skip depth "no CUDA device (GPU_ACCEPTANCE_QUICK=1 runs it on the CPU)"
fi
[[ $CUDA == 0 && $QUICK == 1 ]] && echo "SKIP depth_cuda: no CUDA device: GPU maps/s and GPU-vs-CPU on the golden clouds not measured" \
  | tee -a "$LOG"

# -- 6. one-GPU torchrun SIGKILLed mid-epoch and resumed (tests/train_support.py's helper) -------
if [[ $CUDA == 0 ]]; then
  skip torchrun "no CUDA device: the one-GPU torchrun kill/resume check not run"
else
  step torchrun 120 "$PY" -m pytest -q -p no:cacheprovider -m gpu -k torchrun -rfEs --timeout 110 \
    --junitxml="$STEPS/torchrun.xml" tests/test_distributed.py
fi

# -- 5. RGB through EGL (several workers per GPU) and the generation job on the real meshes ------
if [[ $QUICK == 1 ]]; then
  step rgb 120 "$PY" benchmarks/rgb_render.py --meshes "$DATA/meshes" --sets shared_meshes --variants ours --workers 2
  step generation 180 "$PY" benchmarks/generation.py --meshes "$DATA/meshes" --workers 1 --synthetic-limit 4 \
    --copies 1 --repeats 1
elif [[ $CUDA == 1 ]]; then
  step rgb 90 "$PY" benchmarks/rgb_render.py --meshes "$DATA/meshes" --variants ours,baseline --workers 8
  step generation 120 "$PY" benchmarks/generation.py --meshes "$DATA/meshes" --workers 8 --copies 4 --repeats 1
else
  skip rgb "no CUDA device (GPU_ACCEPTANCE_QUICK=1 runs it with llvmpipe)"
  skip generation "no CUDA device (GPU_ACCEPTANCE_QUICK=1 runs it with llvmpipe)"
fi

# -- one JSON: every step's record and result, and the goals -----------------------------------
STEPS=$STEPS OUT=$OUT CUDA=$CUDA QUICK=$QUICK BUDGET_S=$BUDGET_S ELAPSED=$SECONDS "$PY" - <<'EOF'
import json, os, time, xml.etree.ElementTree as ET
from pathlib import Path

steps_dir, out, cuda = Path(os.environ["STEPS"]), Path(os.environ["OUT"]), os.environ["CUDA"] == "1"

def last_json(path: Path):
    for line in reversed(path.read_text(errors="replace").splitlines() if path.exists() else []):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None

def junit(path: Path):
    if not path.exists():
        return None
    cases = {}
    for case in ET.parse(path).iter("testcase"):
        kids = {child.tag for child in case}
        cases[case.get("name")] = ("fail" if kids & {"failure", "error"} else "skip" if "skipped" in kids else "pass")
    return cases

steps = {}
for rec in sorted(steps_dir.glob("*.rec"), key=lambda p: p.stat().st_mtime):
    status, rc, seconds, note = rec.read_text().rstrip("\n").split("\t")
    name, output = rec.stem, steps_dir / f"{rec.stem}.out"
    entry = {"status": status, "rc": int(rc) if rc else None, "seconds": int(seconds)}
    if note:
        entry["note"] = note
    result = last_json(output) if name not in ("gpu_tests", "torchrun") else junit(steps_dir / f"{name}.xml")
    if result is not None:
        entry["result"] = result
    if status in ("fail", "timeout") and output.exists():
        entry["tail"] = output.read_text(errors="replace").splitlines()[-20:]
    steps[name] = entry

def res(name):
    return steps.get(name, {}).get("result") or {}

def goal(value, ok, target):
    """pass/fail only for a CUDA run (``ok`` None: a figure to report, judged by nothing); a CPU
    dry run's figure is kept but judged by nothing either."""
    if isinstance(value, float):
        value = round(value, 4)
    if cuda and value is not None:
        return {"value": value, "goal": target, "pass": None if ok is None else bool(ok(value))}
    note = "not measured" if cuda or value is None or value == "skip" else "CPU dry-run figure, the goal is for CUDA"
    return {"value": value, "goal": target, "pass": None, "note": note + ("" if cuda else ": no CUDA device")}

def test_status(step, fragment):
    """'pass' / 'fail' / 'skip' of the junit case whose name holds ``fragment`` (None: not run)."""
    hits = [s for name, s in res(step).items() if fragment in name]
    return hits[0] if hits else None

def all_passed(value):
    passed, total = value.split()[0].split("/")
    return passed == total

def all_tests(step):
    """'N/M passed' from the step's junit cases: a pytest run that skipped everything exits 0 too."""
    cases = list(res(step).values())
    return f"{cases.count('pass')}/{len(cases)} passed" if cases else None

train, depth, rgb, gen = res("train_step"), res("depth"), res("rgb"), res("generation")
speedup = (train["samples_per_s"] / train["baseline_samples_per_s"]) if train.get("baseline_samples_per_s") else None
golden = depth.get("cuda_golden") or {}
projection = gen.get("projection_52460") or {}
goals = {
    "gpu_tests_all_pass": goal(all_tests("gpu_tests"), all_passed, "all passed (none skipped)"),
    "trainer_bf16_vit_b32": goal(test_status("gpu_tests", "cuda-bf16"), lambda v: v == "pass", "pass"),
    "trainer_fp16_gradscaler_vit_b32": goal(test_status("gpu_tests", "cuda-fp16"), lambda v: v == "pass", "pass"),
    "train_speedup": goal(speedup and round(speedup, 2), lambda v: v >= 3, ">= 3x (staged samples_per_s)"),
    "train_pipelined_speedup": goal(train.get("baseline_pipelined_samples_per_s") and round(
        train["pipelined_samples_per_s"] / train["baseline_pipelined_samples_per_s"], 2), lambda v: v >= 3, ">= 3x"),
    "gpu_busy": goal(train.get("gpu_busy"), lambda v: v >= 0.9, ">= 0.90"),
    "depth_share": goal(train.get("depth_share"), lambda v: v <= 0.05, "<= 0.05 of the step"),
    "depth_cuda_maps_per_s": goal(depth.get("cuda_maps_per_s"), None, "reported"),
    "depth_cuda_vs_cpu_golden": goal(golden.get("max_abs_diff"), lambda v: golden.get("bit_equal") or v <= 1e-6,
                                     "bit-equal or <= 1e-6"),
    "rgb_through_nvidia_egl": goal(rgb.get("gl_renderer"), lambda v: "nvidia" in v.lower(), "NVIDIA renderer"),
    "rgb_views_per_s_per_worker": goal((rgb.get("concurrent") or {}).get("mean_views_per_s_per_worker"),
                                       None, "reported (several workers on one GPU)"),
    "generation_ratio_to_rgb_stage": goal((gen.get("synthetic") or {}).get("ratio_to_rgb_stage"),
                                          lambda v: v >= 0.8, ">= 0.80"),
    "projection_52460_hours": goal((projection.get("as_measured") or {}).get("hours"), None, "reported"),
    "torchrun_kill_resume_identical": goal(test_status("torchrun", "torchrun"), lambda v: v == "pass", "pass"),
}
env_file = steps_dir / "environment.json"
report = {
    "benchmark": "gpu_acceptance", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "environment": json.loads(env_file.read_text()) if env_file.exists() and env_file.read_text().strip() else None,
    "cuda": cuda, "quick": os.environ["QUICK"] == "1", "budget_s": int(os.environ["BUDGET_S"]),
    "elapsed_s": int(os.environ["ELAPSED"]), "steps": steps, "goals": goals,
    "failed_steps": [n for n, s in steps.items() if s["status"] in ("fail", "timeout")],
}
(out / "gpu_acceptance.json").write_text(json.dumps(report, indent=1) + "\n")
for name, g in goals.items():
    mark = {True: "PASS", False: "FAIL", None: "----" if "note" in g else "info"}[g["pass"]]
    print(f"{mark} {name}: {g['value']} (goal {g['goal']}){'  ' + g['note'] if 'note' in g else ''}")
print(f"steps: " + ", ".join(f"{n} {s['status']}" for n, s in steps.items()))
print(f"wrote {out / 'gpu_acceptance.json'} and {out / 'gpu_acceptance.log'} ({report['elapsed_s']} s)")
EOF
rm -rf "$STEPS"
grep -q '"failed_steps": \[\]' "$OUT/gpu_acceptance.json"
