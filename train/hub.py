"""Model-hub access that fails fast offline.

huggingface_hub retries an unreachable hub with growing back-off (about 50-90 s of warnings on
a machine without network) before open_clip's error, and the user's answer is the same either
way: pass a local weights file. So one quick connection attempt decides first; when the hub
cannot be reached, the download runs in the hub's offline mode, which still loads weights
already in the local cache and otherwise fails at once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Iterator

log = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"
PROBE_TIMEOUT_S = 3.0


def hub_reachable(host: str = HUB_HOST, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One TCP connection attempt (name lookup included), bounded by ``timeout`` seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def offline_unless_reachable(host: str = HUB_HOST) -> Iterator[bool]:
    """Within the block the hub runs offline (cache only) when ``host`` cannot be reached;
    yields whether it could. A no-op where huggingface_hub is not installed."""
    try:
        from huggingface_hub import constants  # noqa: PLC0415
    except ImportError:
        yield True
        return
    if constants.HF_HUB_OFFLINE or hub_reachable(host):
        yield not constants.HF_HUB_OFFLINE
        return
    log.debug("%s unreachable: hub downloads use the local cache only", host)
    constants.HF_HUB_OFFLINE = True
    try:
        yield False
    finally:
        constants.HF_HUB_OFFLINE = False
