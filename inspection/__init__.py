"""Inspection: look into a shard folder after the job wrote it (summary, verify, sheet, export,
gallery). It sits above ``datasets`` (it reads shards) and ``render`` (``verify`` re-projects the
stored points through each view's own camera, and pictures come from ``render.sheets``), and
below nothing: ``datasets`` and ``render`` never import it, and it never imports ``train`` or
``eval`` (``tests/test_architecture.py``)."""
