"""The shared setting checks (clip2point.validation): every message names the flag the user
typed, including where the flag is not the field's name (the job's ``--points`` fills
``num_points``, ``--timeout`` fills ``timeout_s``)."""

from __future__ import annotations

import pytest

from clip2point.errors import ConfigError
from clip2point.validation import (check_choice, check_choices, check_image_size, check_int, check_int_list,
                                   check_non_negative, check_positive, check_range, flag_of)


def test_flag_of_is_the_field_with_dashes():
    assert flag_of("batch_size") == "--batch-size"


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (0, dict(low=1), r"^--n must be an integer >= 1; got 0$"),
    (True, dict(low=0), r"^--n must be an integer >= 0; got True$"),
    (2.5, dict(low=1), r"^--n must be an integer >= 1; got 2.5$"),
    (9, dict(low=1, high=8, hint="e.g. 4"), r"^--n must be an integer in \[1, 8\]; got 9 \(e.g. 4\)$"),
])
def test_check_int_refuses(value, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_int(value, "--n", **kwargs)


def test_checks_return_accepted_values():
    assert check_int(3, "--n", low=1, high=3) == 3
    assert check_positive(0.5, "--lr") == 0.5
    assert check_non_negative(0, "--eta-min") == 0
    assert check_choice("gathered", "--negatives", ("per-device", "gathered")) == "gathered"


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "1"])
def test_check_positive_refuses(value):
    with pytest.raises(ConfigError, match=r"^--lr must be > 0; got "):
        check_positive(value, "--lr")


@pytest.mark.parametrize("value", [-0.5, float("nan")])
def test_check_non_negative_refuses(value):
    with pytest.raises(ConfigError, match=r"^--weight-decay must be >= 0; got "):
        check_non_negative(value, "--weight-decay")


def test_check_choice_lists_the_options_in_order():
    with pytest.raises(ConfigError, match=r"^--val-views must be one of 6, 10; got 7$"):
        check_choice(7, "--val-views", (6, 10))


def test_settings_name_the_flag_not_the_field():
    """The three stages' settings use these checks with their own flags."""
    from clip2point.datasets.synthetic import SyntheticSettings
    from clip2point.render.job.config import RenderJobConfig
    from clip2point.train.config import TrainConfig

    with pytest.raises(ConfigError, match=r"^--points must be an integer >= 1; got 0 "):
        RenderJobConfig(out="unused", num_points=0)
    with pytest.raises(ConfigError, match=r"^--batch-size must be an integer >= 1; got 0$"):
        TrainConfig.from_flat(shards="unused", out="unused", batch_size=0)
    with pytest.raises(ConfigError, match=r"^--per-class must be an integer in \[1, 10000\]; got 0$"):
        SyntheticSettings(per_class=0)


def test_evaluation_settings_name_their_flags():
    from clip2point.eval.settings import DataSettings, ViewSettings

    with pytest.raises(ConfigError, match=r"^--batch-size must be an integer >= 1; got 0$"):
        ViewSettings(batch_size=0)
    with pytest.raises(ConfigError, match=r"^--align must be one of auto, "):
        DataSettings(dataset="modelnet40", data="unused", align="sideways")
    with pytest.raises(ConfigError, match=r"^--prompts must be one of "):
        DataSettings(dataset="modelnet40", data="unused", prompts="none")


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0.0])
def test_finite_checks_refuse_infinity(value):
    with pytest.raises(ConfigError, match=r"^--lr must be a finite number > 0; got "):
        check_positive(value, "--lr", finite=True)
    assert check_positive(float("inf"), "--lr") == float("inf")  # without finite=, infinity is a number > 0
    with pytest.raises(ConfigError, match=r"^--weight-decay must be a finite number >= 0; got inf$"):
        check_non_negative(float("inf"), "--weight-decay", finite=True)


def test_check_choices_wants_distinct_members():
    assert check_choices(["clip"], "--paths", ("pretrained", "clip")) == ("clip",)
    for bad in [(), ("clip", "clip"), ("depth",), "clip"]:
        with pytest.raises(ConfigError, match=r"^--paths must be one or more distinct values of pretrained, clip; got "):
            check_choices(bad, "--paths", ("pretrained", "clip"))


@pytest.mark.parametrize(("values", "kwargs", "message"), [
    ((), dict(low=1), r"^--topk must be one or more integers >= 1; got \(\)$"),
    ((1, 0), dict(low=1), r"^--topk must be one or more integers >= 1; got \(1, 0\)$"),
    ((0, 0), dict(distinct=True), r"^--seeds must be one or more distinct integers; got \(0, 0\)$"),
    ([3, 10], dict(low=0, high=9, hint="views"), r"^--views must be one or more integers in \[0, 9\]; got \[3, 10\] \(views\)$"),
    ((1.5,), dict(), r"^--seeds must be one or more integers; got \(1.5,\)$"),
])
def test_check_int_list_refuses(values, kwargs, message):
    flag = message[1:].split(" ")[0]
    with pytest.raises(ConfigError, match=message):
        check_int_list(values, flag, **kwargs)


def test_check_int_list_returns_a_tuple():
    assert check_int_list([0, 1, 2], "--seeds", distinct=True) == (0, 1, 2)
    assert check_int_list((5,), "--topk", low=1, high=5) == (5,)


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (180.0, dict(low=0, high=180, low_open=True, high_open=True), r"^--yfov must be a number in \(0, 180\); got 180.0$"),
    (0, dict(low=0, high=50, low_open=True), r"^--yfov must be a number in \(0, 50\]; got 0$"),
    (1.0, dict(low=0, high=1, high_open=True, hint="a rate"), r"^--yfov must be a number in \[0, 1\); got 1.0 \(a rate\)$"),
    (float("nan"), dict(low=0, high=1), r"^--yfov must be a number in \[0, 1\]; got nan$"),
    ("0.5", dict(low=0, high=1), r"^--yfov must be a number in \[0, 1\]; got '0.5'$"),
])
def test_check_range_refuses(value, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_range(value, "--yfov", **kwargs)


def test_check_range_keeps_closed_ends():
    assert check_range(0, "--min-coverage", low=0, high=1) == 0
    assert check_range(1.0, "--min-coverage", low=0, high=1) == 1.0


@pytest.mark.parametrize("value", [7, 4097, 224.0, True])
def test_check_image_size_is_the_one_raster_bound(value):
    with pytest.raises(ConfigError, match=rf"^--image-size must be an integer in \[8, 4096\]; got {value!r} \(pixels per side\)$"):
        check_image_size(value, "--image-size")
    assert check_image_size(8, "--size") == 8 and check_image_size(4096, "--size") == 4096
