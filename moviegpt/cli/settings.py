"""Typed settings for the commands: what each command is asked to do (CommandSettings), and the Settings bundle of
every config a command receives, built from one flat table of values by setting name. The resume and --init_from
merges and the "ignored with --checkpoint" warning are derived from the declarations (moviegpt/settings.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from moviegpt.errors import ConfigError, UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.model import GPTConfig
from moviegpt.models import MODEL_KINDS
from moviegpt.records import RecordFormat
from moviegpt.runtime import Runtime
from moviegpt.settings import (
    FIXED,
    FREE,
    NOT_EMPTY,
    ONE_LINE,
    Setting,
    at_least,
    build,
    declared,
    settable_fields,
    setting,
    validate,
)
from moviegpt.tokenizer import TokenizerSpec
from moviegpt.training.config import RunSettings, TrainConfig
from moviegpt.web.server import ServeSettings

SCRIPTS = {"gpt": "gpt.py", "bigram": "simple_bigram.py"}  # the command of each kind of model


@dataclass
class CommandSettings:
    """What to do: train on which text, or which checkpoint to generate from, evaluate, serve or convert."""

    checkpoint: str | None = setting(
        None,
        "generate from this checkpoint (a file, http(s) URL, Google Drive link or file id); for one of the original "
        "MovieGPT, add --training_data with its training text",
    )
    training_data: list[str] | None = setting(
        None,
        "UTF-8 text to train on: files, folders of .txt, globs or http(s) URLs (default "
        "dataset/movie_descriptions.txt, else the shipped dataset/simple_movies.txt)",
        cli={"nargs": "+", "action": "extend", "metavar": "SOURCE"},  # given twice: both sources, not the last
    )
    sha256: str | None = setting(None, "refuse a --checkpoint/--resume file whose SHA-256 is not this hex digest")
    prompt: str | None = setting(None, "text to continue; asked for when stdin is a terminal; empty = a new record")
    title: str | None = setting(
        None, "generate the description of a movie with this title (the training template)", check=ONE_LINE
    )
    interactive: bool = setting(
        False, "a `>> ` prompt loop: prompts, :title <name>, :set <name> <value>", cli={"action": "store_true"}
    )
    no_stop: bool = setting(False, "never stop early: always generate --max_new_tokens", cli={"action": "store_true"})
    typewriter: bool = setting(
        True,
        "print the generation once at the end instead of character by character",
        cli={"flag": "--disable-typewriter", "action": "store_false"},
    )
    outputs_dir: str = setting("outputs", "folder for generated text files", check=NOT_EMPTY)
    poster: bool = setting(
        False,
        "also draw each generated movie as a poster PNG in --posters_dir (named after the title)",
        cli={"action": "store_true"},
    )
    poster_from: str | None = setting(
        None, "draw posters for the movies in a text file already generated", cli={"metavar": "FILE"}
    )
    posters_dir: str = setting("posters", "folder for posters", check=NOT_EMPTY)
    serve: bool = setting(
        False, "with --checkpoint: a local web page to generate movies and posters", cli={"action": "store_true"}
    )
    convert: str | None = setting(
        None,
        "with --checkpoint: save it as a self-contained checkpoint of ours (an original MovieGPT one needs "
        "--training_data)",
        cli={"metavar": "OUT"},
    )
    force: bool = setting(False, "--convert: replace OUT if it exists", cli={"action": "store_true"})
    evaluate: str | None = setting(
        None,
        "with --checkpoint: exact loss, bits per character and perplexity on FILE",
        cli={"metavar": "FILE"},
    )
    eval_stride: int | None = setting(
        None,
        "characters the --evaluate window moves each time; 1 gives every character the full context (default: half "
        "the context)",
        check=at_least(1),
    )
    title_movies: int = setting(
        500,
        "--evaluate on movie-format text: movies scored for the title measures, spread through the file (each "
        "against 10 titles); 0 scores all",
        check=at_least(0),
    )
    json: bool = setting(
        False, "with --evaluate or --compare: print one JSON line for scripts", cli={"action": "store_true"}
    )
    compare: str | None = setting(
        None,
        "train the bigram on a GPT checkpoint's data (or use --checkpoint) and compare their validation loss",
        kinds=("bigram",),
        cli={"metavar": "CHECKPOINT"},
    )

    def __post_init__(self) -> None:
        validate(self)


# Every class that declares settings (in the order of --help), and those a command that loads --checkpoint reads.
CONFIG_CLASSES = (CommandSettings, RunSettings, TokenizerSpec, GPTConfig, TrainConfig, GenerationConfig, Runtime,
                  ServeSettings)  # fmt: skip
GENERATION_SIDE = (CommandSettings, GenerationConfig, Runtime, ServeSettings)


@cache
def registry() -> dict[str, Setting]:
    """Every declared setting by name; a name is declared once."""
    found: dict[str, Setting] = {}
    for config_class in CONFIG_CLASSES:
        for s in declared(config_class):
            assert s.name not in found, f"{s.name} is declared twice"
            found[s.name] = s
    return found


def model_class(kind: str) -> type:
    return MODEL_KINDS[kind][0]


def is_model_setting(s: Setting) -> bool:
    """Whether the setting is one of the model's own (sizes, options), which a checkpoint's model config holds."""
    return s.owner is model_class("gpt")


def applies_to(s: Setting, kind: str) -> bool:
    """Whether the command of this kind of model has the setting (a model's own settings only where it has them)."""
    if s.kinds is not None:
        return kind in s.kinds
    return not is_model_setting(s) or s.name in settable_fields(model_class(kind))


def settings_for(kind: str) -> list[Setting]:
    return [s for s in registry().values() if applies_to(s, kind)]


@dataclass(frozen=True)
class Settings:
    """Every config a command may need, built from one table of values by setting name."""

    kind: str  # "gpt" or "bigram": the model of gpt.py or of simple_bigram.py
    values: Mapping[str, Any]
    explicit: frozenset[str]  # the settings given on the command line
    command: CommandSettings
    runtime: Runtime
    generation: GenerationConfig  # stop None: the record end of a movie-format model (see generation_for)
    serve: ServeSettings
    run: RunSettings
    tokenizer: TokenizerSpec
    model: Any  # GPTConfig or BigramConfig, vocab_size 0 until the tokenizer is known
    train: TrainConfig

    def generation_for(self, record_format: RecordFormat | None) -> GenerationConfig:
        """The generation settings for a model: its stop strings (--stop, none with --no_stop, else the record end).
        Each request decides its guidance scale (generation/request.py)."""
        stop = (
            self.generation.stop if self.generation.stop is not None else [record_format.end] if record_format else []
        )
        return dataclasses.replace(self.generation, stop=stop)

    def with_values(self, **values: Any) -> Settings:
        """The same settings with these values replaced (and checked)."""
        return make_settings(self.kind, {**self.values, **values}, self.explicit)

    def saved(self) -> dict[str, Any]:
        """The run's settings as its checkpoints keep them (what --resume, --compare and --init_from read back)."""
        kept = {n: v for n, v in self.values.items() if registry()[n].resume or registry()[n].owner is RunSettings}
        return {**kept, "model": self.kind}


def make_settings(kind: str, values: Mapping[str, Any], explicit: frozenset[str]) -> Settings:
    """Build every config from the values; a bad value is a one-line error naming its flag."""
    values = {**values, "stop": []} if values.get("no_stop") else dict(values)
    try:
        return Settings(
            kind,
            values,
            explicit,
            command=build(CommandSettings, values),
            runtime=build(Runtime, values),
            generation=build(GenerationConfig, values),
            serve=build(ServeSettings, values),
            run=build(RunSettings, values),
            tokenizer=build(TokenizerSpec, values),
            model=build(model_class(kind), values),
            train=build(TrainConfig, values),
        )
    except ConfigError as exc:
        raise UserError(f"--{exc.field} {exc.problem}") from None


# Flags that each pick what the command does; two of them at once would leave one silently unused.
COMMAND_FLAGS = ("serve", "convert", "evaluate", "interactive", "poster_from", "compare")
CONFLICTS = (  # (flag, flag, why they cannot go together)
    ("title", "prompt", "both give the text to continue: choose one"),
    ("no_stop", "stop", "--no_stop never stops early: leave out one of them"),
    ("interactive", "title", "the loop asks for titles itself (:title <name>): leave out --title"),
    ("interactive", "prompt", "the loop asks for prompts itself: leave out --prompt"),
    ("serve", "title", "the web page asks for titles itself: leave out --title"),
    ("serve", "prompt", "the web page asks for prompts itself: leave out --prompt"),
)


def check_conflicts(settings: Settings) -> None:
    """Refuse flags that contradict each other or do nothing where they were given."""
    given = [f for f in COMMAND_FLAGS if f in settings.explicit and settings.values.get(f)]
    if len(given) > 1:
        raise UserError(f"--{given[0]} and --{given[1]} each choose what to do: give one of them")
    for first, second, why in CONFLICTS:
        if first in settings.explicit and second in settings.explicit:
            raise UserError(f"--{first} and --{second}: {why}")
    if settings.command.json and not (settings.command.evaluate or settings.command.compare):
        raise UserError("--json prints the report of --evaluate or --compare: give one of them")


def ignored_training_flags(settings: Settings) -> list[str]:
    """The training settings given to a command that loads --checkpoint (they would be silently ignored)."""
    if not settings.command.checkpoint or settings.command.compare:
        return []
    used = {name for c in GENERATION_SIDE for name in settable_fields(c)}
    return [f"--{name}" for name in registry() if name in settings.explicit and name not in used]


def resumed(settings: Settings, saved: Mapping[str, Any], model_config: Mapping[str, Any]) -> Settings:
    """The settings of a run being resumed: FIXED ones are the run's (a different value given is refused), FREE
    ones the run's unless given. A setting the run predates takes its declared default (the old behaviour)."""
    kind = saved.get("model", "gpt")
    if kind != settings.kind:
        raise UserError(f"the run being resumed trained a {kind} model; resume it with {SCRIPTS[kind]}")
    values = dict(settings.values)
    for s in settings_for(settings.kind):
        source = model_config if is_model_setting(s) else saved
        if s.resume == FIXED:
            value = source.get(s.name, s.default)
            if s.name in settings.explicit and values[s.name] != value:
                given = values[s.name]
                raise UserError(f"--{s.name} {given} conflicts with the run being resumed ({value}); leave it out")
            values[s.name] = value
        elif s.resume == FREE and s.name not in settings.explicit and s.name in source:
            values[s.name] = source[s.name]
    return make_settings(settings.kind, values, settings.explicit)


def initialised(settings: Settings, model_config: Mapping[str, Any], tokenizer: str, source: str) -> Settings:
    """--init_from: the model's sizes and options and the tokenizer are the checkpoint's; a flag that differs is
    refused."""
    if settings.run.resume:
        raise UserError("--init_from starts a new run from a checkpoint and --resume goes on with one: choose one")
    kind = model_config.get("kind", "gpt")
    if kind != settings.kind:
        raise UserError(f"--init_from {source} holds a {kind} model; fine-tune it with {SCRIPTS[kind]}")
    fixed = {s.name: model_config.get(s.name, s.default) for s in settings_for(kind) if is_model_setting(s)}
    values = {**settings.values, **fixed, "tokenizer": tokenizer}
    for name, value in {**fixed, "tokenizer": tokenizer}.items():
        if name in settings.explicit and settings.values[name] != value:
            raise UserError(
                f"--{name} {settings.values[name]} differs from the model of --init_from ({value}); leave it out"
            )
    return make_settings(kind, values, settings.explicit)
