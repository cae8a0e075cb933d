import importlib.util
import sys

# From a checkout with a Python that has not installed the package, ``clip2point`` is found in the
# current folder but its stages (mapped from render/ datasets/ train/ eval/ at install) are not.
if importlib.util.find_spec("clip2point.datasets") is None:
    print(f"clip2point is not installed for this Python ({sys.executable}): run `bash quickstart.sh render` "
          "(or pip install -e .) and then `source .venv/bin/activate` or call .venv/bin/clip2point", file=sys.stderr)
    sys.exit(2)

from clip2point.cli import main  # noqa: E402

sys.exit(main())
