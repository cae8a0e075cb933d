"""Setting checks shared by every stage's frozen settings, so a wrong value is refused with the
same sentence everywhere and the sentence names the flag the user typed (``--points``, not the
field ``num_points`` the flag fills).

Each check returns the value when it is acceptable and raises ``ConfigError`` otherwise; callers
pass the flag, because only they know which flag fills which field (``flag_of`` covers the usual
case where the flag is the field's name with dashes). A setting no flag fills (a keyword argument
of a library class, such as ``RGBSettings.msaa_samples``) is named by that keyword instead. Every
message has one form: ``FLAG must be WHAT; got VALUE`` plus an optional ``(hint)``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from clip2point.errors import ConfigError


def flag_of(field: str) -> str:
    """``batch_size`` → ``--batch-size``: the flag of a field whose flag follows its name."""
    return "--" + field.replace("_", "-")


def _hint(hint: str | None) -> str:
    return f" ({hint})" if hint else ""


def check_int(value: Any, flag: str, *, low: int, high: int | None = None, hint: str | None = None) -> int:
    """An integer (not a bool) in ``[low, high]`` (no upper bound when ``high`` is None)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{flag} must be an integer {bound}; got {value!r}{_hint(hint)}")
    return value


def _number(value: Any, finite: bool) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    return number and (not finite or math.isfinite(value))


def check_positive(value: Any, flag: str, *, finite: bool = False, hint: str | None = None) -> float:
    """A number above 0 (NaN fails; infinity too when ``finite``)."""
    if not (_number(value, finite) and value > 0):
        what = "a finite number > 0" if finite else "> 0"
        raise ConfigError(f"{flag} must be {what}; got {value!r}{_hint(hint)}")
    return value


def check_non_negative(value: Any, flag: str, *, finite: bool = False, hint: str | None = None) -> float:
    """A number >= 0 (NaN fails; infinity too when ``finite``)."""
    if not (_number(value, finite) and value >= 0):
        what = "a finite number >= 0" if finite else ">= 0"
        raise ConfigError(f"{flag} must be {what}; got {value!r}{_hint(hint)}")
    return value


def check_choice(value: Any, flag: str, options: Iterable[Any], *, hint: str | None = None) -> Any:
    """One of ``options`` (listed in the message in their order)."""
    options = tuple(options)
    if value not in options:
        raise ConfigError(f"{flag} must be one of {', '.join(map(str, options))}; got {value!r}{_hint(hint)}")
    return value


def check_choices(values: Any, flag: str, options: Iterable[Any]) -> tuple[Any, ...]:
    """One or more distinct members of ``options``, as a tuple (``--paths clip,pretrained``)."""
    options = tuple(options)
    chosen = tuple(values) if isinstance(values, (list, tuple)) else None
    if not chosen or any(v not in options for v in chosen) or len(set(chosen)) != len(chosen):
        raise ConfigError(f"{flag} must be one or more distinct values of {', '.join(map(str, options))}; "
                          f"got {values!r}")
    return chosen


def check_int_list(values: Any, flag: str, *, low: int | None = None, high: int | None = None,
                   distinct: bool = False, hint: str | None = None) -> tuple[int, ...]:
    """One or more integers (``--seeds 0,1,2``, ``--topk 1,5``), each in ``[low, high]`` (a side
    left None is unbounded), all different when ``distinct``; returned as a tuple."""
    items = tuple(values) if isinstance(values, (list, tuple)) else None
    ok = bool(items) and all(isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low)
                             and (high is None or v <= high) for v in items)
    if not ok or (distinct and len(set(items)) != len(items)):
        bound = _int_bound(low, high)
        raise ConfigError(f"{flag} must be one or more {'distinct ' if distinct else ''}integers{bound}; "
                          f"got {values!r}{_hint(hint)}")
    return items


def _int_bound(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    return f" >= {low}" if low is not None else (f" <= {high}" if high is not None else "")


def check_range(value: Any, flag: str, *, low: float, high: float, low_open: bool = False,
                high_open: bool = False, hint: str | None = None) -> float:
    """A number between ``low`` and ``high``; ``low_open``/``high_open`` leave that end out
    (``(0, 180)`` for a field of view, ``[0, 1)`` for a dropout rate). NaN fails."""
    above = _number(value, finite=False) and (value > low if low_open else value >= low)
    if not (above and (value < high if high_open else value <= high)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(f"{flag} must be a number in {interval}; got {value!r}{_hint(hint)}")
    return value


# The one bound on every raster side (RGB views, depth maps, tower inputs): a typo such as 100000
# would otherwise ask the depth projector for hundreds of GB before anything failed.
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 4096


def check_image_size(value: Any, flag: str) -> int:
    """An image side in pixels the package can rasterise (``[MIN_IMAGE_SIDE, MAX_IMAGE_SIDE]``)."""
    return check_int(value, flag, low=MIN_IMAGE_SIDE, high=MAX_IMAGE_SIDE, hint="pixels per side")
