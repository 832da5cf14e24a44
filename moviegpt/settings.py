"""Settings, each declared once: a field of the config dataclass it belongs to, whose metadata holds its help, its
check, its choices, whether a resumed run may change it, and where it can be changed live (the REPL, the web page).

The command line's flags, the presets, the resume and --init_from merges, the "ignored with --checkpoint" warning,
the REPL's `:set` and the web form are all derived from these declarations (see cli/arguments.py, cli/settings.py);
a flag, a config field, a checkpoint's saved setting and a `:set` name are one name.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from moviegpt.errors import ConfigError

T = TypeVar("T")
FIXED = "fixed"  # resume keeps the run's value: a different value given with --resume is refused
FREE = "free"  # resume keeps the run's value unless the flag is given (how long to train, how often to save...)


@dataclass(frozen=True)
class Check:
    """A rule a value must follow, and how to say it ("must be >= 1")."""

    ok: Callable[[Any], bool]
    rule: str


def at_least(low: float) -> Check:
    return Check(lambda v: v >= low, f"must be >= {low}")


def above(low: float) -> Check:
    return Check(lambda v: v > low, f"must be > {low}")


def between(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Check:
    """low <= value <= high; an open end leaves that bound out."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return Check(
        lambda v: (v > low if low_open else v >= low) and (v < high if high_open else v <= high),
        f"must be in {left}{low}, {high}{right}",
    )


NOT_EMPTY = Check(lambda v: bool(v.strip()), "must not be empty")
ONE_LINE = Check(lambda v: bool(v.strip()) and "\n" not in v and "\r" not in v, "must be one line, not empty")


def setting(
    default: Any,
    help: str,  # noqa: A002 (argparse's name)
    *,
    check: Check | None = None,
    choices: tuple[str, ...] | None = None,
    resume: str | None = None,
    live: tuple[str, ...] = (),
    kinds: tuple[str, ...] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Any:
    """A dataclass field that is a setting. resume: FIXED, FREE or None (not part of a run); live: where it can be
    changed while a model is loaded ("repl", "web"); kinds: the models whose command has it (default: every one that
    has the field); cli: extra argparse arguments (nargs, metavar, action, flag)."""
    metadata = {"help": help, "check": check, "choices": choices, "resume": resume, "live": live, "kinds": kinds}
    metadata["cli"] = dict(cli or {})
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def derived(default: Any) -> Any:
    """A field the program sets (never from a flag of the same name), e.g. a model's vocab_size."""
    return dataclasses.field(default=default, metadata={"derived": True})


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the command line, presets, resume, `:set` and the web form see it."""

    name: str
    kind: type  # int, float, bool, str or list
    optional: bool  # None is a value (off, or: decided later)
    default: Any
    help: str
    check: Check | None
    choices: tuple[str, ...] | None
    resume: str | None
    live: tuple[str, ...]
    kinds: tuple[str, ...] | None
    cli: Mapping[str, Any]
    owner: type

    def parse(self, text: str) -> Any:
        """A value from text (a flag's argument, a `:set` or a web form value), checked; ValueError says why."""
        if self.optional and self.kind in (int, float) and text.strip().lower() in ("none", "off"):
            return None
        if self.kind is bool:
            if text.strip().lower() not in ("true", "false", "on", "off", "1", "0", "yes", "no"):
                raise ValueError(f"expected on or off, got {text!r}")
            return text.strip().lower() in ("true", "on", "1", "yes")
        try:
            value = self.kind(text)
        except ValueError:
            raise ValueError(
                f"expected a{'n' if self.kind is int else ''} {self.kind.__name__}, got {text!r}"
            ) from None
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value, or None."""
        if value is None and self.optional:
            return None
        if self.kind is float and isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        if self.check is not None and not self.check.ok(value):
            return f"{self.check.rule}, got {value!r}"
        return None


def base_type(hint: Any) -> tuple[type, bool]:
    """(int, True) for `int | None`; (list, False) for `list[str]`."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else ()
    if args:
        (inner,) = [a for a in args if a is not type(None)]
        return base_type(inner)[0], True
    return typing.get_origin(hint) or hint, False


@functools.cache
def declared(config_class: type) -> tuple[Setting, ...]:
    """The settings a config dataclass declares, in field order."""
    hints = typing.get_type_hints(config_class)
    found = []
    for f in dataclasses.fields(config_class):
        if "help" not in f.metadata:
            continue
        kind, optional = base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        meta = {k: f.metadata[k] for k in ("help", "check", "choices", "resume", "live", "kinds", "cli")}
        found.append(Setting(f.name, kind, optional, default, owner=config_class, **meta))
    return tuple(found)


def settable_fields(config_class: type) -> list[str]:
    """The fields of a config that take a setting's value by name (all but the derived ones)."""
    return [f.name for f in dataclasses.fields(config_class) if not f.metadata.get("derived")]


def validate(config: object) -> None:
    """Check every declared setting of a config dataclass (call it in __post_init__); ConfigError names the field."""
    for s in declared(type(config)):
        problem = s.problem(getattr(config, s.name))
        if problem:
            raise ConfigError(s.name, problem)


def build(config_class: type[T], values: Mapping[str, Any], **fixed: Any) -> T:
    """A config from the values named like its fields (the rest keep their defaults) and `fixed` values."""
    names = settable_fields(config_class)
    return config_class(**{k: v for k, v in values.items() if k in names}, **fixed)
