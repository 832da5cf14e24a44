"""The flags of gpt.py and simple_bigram.py, made from the settings' declarations; parsing gives typed Settings."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from moviegpt.cli.settings import Settings, make_settings, settings_for
from moviegpt.settings import Setting
from moviegpt.training.presets import BIGRAM_DEFAULTS, PRESETS

GROUPS = {  # the --help section of each config class's settings
    "CommandSettings": "what to do",
    "Runtime": "device, precision, caches, seed",
    "GenerationConfig": "generation",
    "ServeSettings": "web page (--serve)",
    "RunSettings": "training run",
    "TokenizerSpec": "tokenizer",
    "GPTConfig": "model",
    "TrainConfig": "training loop",
}


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag in one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def argument_type(s: Setting):
    """An argparse type that parses and checks a value as the setting's declaration says."""

    def parse(text: str) -> Any:
        try:
            return s.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = s.kind.__name__  # argparse names the type in its messages
    return parse


def positive_int(text: str) -> int:
    """An argparse type for an int >= 1 (extractor.py's own flags)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def defaults_of(kind: str) -> dict[str, dict[str, Any]]:
    """The values each preset (gpt.py) or the bigram's defaults (simple_bigram.py) give, by preset name."""
    return PRESETS if kind == "gpt" else {"bigram": BIGRAM_DEFAULTS}


def shown_default(s: Setting, kind: str) -> str:
    """The default in --help: one value, or one per preset where the presets differ."""
    values = {name: preset.get(s.name, s.default) for name, preset in defaults_of(kind).items()}
    if len({repr(v) for v in values.values()}) > 1:
        return " (" + ", ".join(f"{name}: {value}" for name, value in values.items()) + ")"
    value = next(iter(values.values()))
    if value is None or s.cli.get("action") in ("store_true", "store_false", "append", "extend"):
        return ""
    return f" ({'on' if value is True else 'off' if value is False else value})"


def add_setting(parser: argparse._ActionsContainer, s: Setting, kind: str) -> None:
    options: dict[str, Any] = {"dest": s.name, "default": argparse.SUPPRESS, "help": s.help + shown_default(s, kind)}
    action = s.cli.get("action")
    if action in ("store_true", "store_false"):
        options["action"] = action
    elif s.kind is bool:
        options["action"] = argparse.BooleanOptionalAction
    elif s.choices is not None:
        options["choices"] = s.choices
    elif s.kind is not list:
        options["type"] = argument_type(s)
    if action in ("append", "extend"):
        options["action"] = action
    options.update({k: v for k, v in s.cli.items() if k in ("nargs", "metavar")})
    parser.add_argument(s.cli.get("flag", f"--{s.name}"), **options)


def build_parser(kind: str = "gpt") -> argparse.ArgumentParser:
    """The flags of gpt.py (kind "gpt") or of simple_bigram.py (kind "bigram": no transformer sizes)."""
    what = "a character-level GPT" if kind == "gpt" else "the bigram baseline"
    parser = OneLineParser(description=f"Train {what} on text, or generate from / evaluate a checkpoint.")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for s in settings_for(kind):
        title = GROUPS.get(s.owner.__name__, s.owner.__name__)
        add_setting(groups.get(title) or groups.setdefault(title, parser.add_argument_group(title)), s, kind)
    return parser


def parse_settings(argv: list[str] | None = None, kind: str = "gpt") -> Settings:
    """The flags given win over the preset's values (simple_bigram.py: its own defaults), which win over the
    declared defaults."""
    explicit = vars(build_parser(kind).parse_args(argv))
    preset = PRESETS[explicit.get("preset", "original")] if kind == "gpt" else BIGRAM_DEFAULTS
    values = {**{s.name: s.default for s in settings_for(kind)}, **preset, **explicit}
    return make_settings(kind, values, frozenset(explicit))
