"""Setting checks shared by every stage's frozen settings, so a wrong value is refused with the
same sentence everywhere and the sentence names the flag the user typed (``--points``, not the
field ``num_points`` the flag fills).

Each check returns the value when it is acceptable and raises ``ConfigError`` otherwise; callers
pass the flag, because only they know which flag fills which field (``flag_of`` covers the usual
case where the flag is the field's name with dashes).
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


def check_choice(value: Any, flag: str, options: Iterable[Any]) -> Any:
    """One of ``options`` (listed in the message in their order)."""
    options = tuple(options)
    if value not in options:
        raise ConfigError(f"{flag} must be one of {', '.join(map(str, options))}; got {value!r}")
    return value
