"""Offline, an open_clip tag fails at once with the message saying to pass a local file, instead
of after a minute of huggingface_hub retries."""

from __future__ import annotations

import time

import pytest

from clip2point.errors import ConfigError
from clip2point.train import hub
from clip2point.train.models import create_clip


def test_an_unreachable_host_is_found_quickly() -> None:
    start = time.perf_counter()
    assert not hub.hub_reachable("host.invalid", timeout=1.0)  # .invalid never resolves (RFC 2606)
    assert time.perf_counter() - start < 5


def test_offline_mode_holds_only_inside_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(hub, "hub_reachable", lambda host=hub.HUB_HOST: False)
    with hub.offline_unless_reachable() as online:
        assert online is False and constants.is_offline_mode()
    assert not constants.HF_HUB_OFFLINE


def test_openai_tag_without_network_fails_fast_with_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache("timm/vit_base_patch32_clip_224.openai", "open_clip_pytorch_model.bin"), str):
        pytest.skip("the openai ViT-B-32 weights are in this machine's hub cache; they load offline")
    monkeypatch.setattr(hub, "hub_reachable", lambda host=hub.HUB_HOST: False)  # as on a machine without network
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"'openai' weights for ViT-B-32.*pass --pretrained weights.pt"):
        create_clip("ViT-B-32", "openai")
    assert time.perf_counter() - start < 20  # was 50-90 s of retries
