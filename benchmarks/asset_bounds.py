"""Peak memory of loading hostile meshes (issue 14, item 3): a texture header declaring
30,000 x 30,000 pixels, a real texture just inside the pixel budget, and the same texture with a
budget below it. Each case runs in a fresh process, its resident memory sampled every 2 ms during the load,
reported as the rise over its RSS after imports. The bound this checks: one object's texture memory
is at most ~4 bytes x ``--max-texture-pixels`` (decoded RGBA) on top of the loader itself,
whatever the file declares. Last line: one JSON object.

    python benchmarks/asset_bounds.py [--side 8192]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CASE = r"""
import json, os, sys, threading, time
from pathlib import Path
from clip2point.datasets.asset_guard import AssetBudget
from clip2point.datasets.mesh_io import load_mesh
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
base, peak, done = rss(), [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
thread = threading.Thread(target=sample)
thread.start()
mesh = load_mesh(Path(sys.argv[1]), budget=AssetBudget(max_texture_pixels=int(sys.argv[2])))
done.set()
thread.join()
peak[0] = max(peak[0], rss())
print(json.dumps({"status": mesh.texture_status, "rise_mb": round((peak[0] - base) / 2**20, 1)}))
"""

def _obj(folder: Path, texture: str) -> Path:
    from asset_fixtures import write_textured_obj  # noqa: PLC0415

    return write_textured_obj(folder, texture)


def _case(obj: Path, budget: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CASE, str(obj), str(budget)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=8192, help="side of the real texture (pixels)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from asset_fixtures import png_declaring, write_png  # noqa: PLC0415

    budget = args.side * args.side
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        png_declaring(root / "bomb" / "t.png", 30_000, 30_000)
        write_png(root / "real" / "t.png", size=args.side)
        result = {
            "budget_pixels": budget,
            "bomb_30000x30000": _case(_obj(root / "bomb", "t.png"), budget),
            f"real_{args.side}_within_budget": _case(_obj(root / "real", "t.png"), budget),
            f"real_{args.side}_over_budget": _case(_obj(root / "real", "t.png"), budget - 1),
            "bound_mb": round(4 * budget / 2**20, 1),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
