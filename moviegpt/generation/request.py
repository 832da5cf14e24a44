"""TitleRequest: one generation asked for by a title (or a prompt), with all that follows from it for a model: the
prompt, the same prompt without its title, the guidance scale, and whether best_of can choose."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from moviegpt.errors import check
from moviegpt.generation.config import GenerationConfig
from moviegpt.records import RecordFormat
from moviegpt.settings import ONE_LINE


@dataclass(frozen=True)
class TitleRequest:
    prompt: str  # what the model continues: for a title, the title line of a record
    unconditional: str | None  # the prompt without its title (guidance's and best_of's other branch); None: no title
    config: GenerationConfig  # as the request is decoded: the guidance scale resolved for this model
    title: str | None = None


def default_guidance(title_dropout: float) -> float:
    """The guidance scale a model gets by default: 2 when it was trained with titles left out (it knows the branch
    without a title), else 1 (off)."""
    return 2.0 if title_dropout > 0 else 1.0


def guidance_for(config: GenerationConfig, titled: bool, title_dropout: float) -> float:
    """--guidance_scale if given, else the model's default; 1 (off) with no title to guide by and in beam search."""
    if not titled:
        return 1.0
    if config.guidance_scale is not None:
        return config.guidance_scale
    return default_guidance(title_dropout) if config.decode != "beam" else 1.0


def title_request(
    config: GenerationConfig,
    record_format: RecordFormat | None,
    title_dropout: float = 0.0,
    title: str | None = None,
    prompt: str = "",
) -> TitleRequest:
    """A request for a title (or a prompt; with neither, the start of a record, so the model invents the title)
    from a model with this record format, trained with this title dropout."""
    fmt = record_format or RecordFormat()
    if title is not None:
        check(ONE_LINE.ok(title), "title", ONE_LINE.rule)
        prompt = fmt.title_prompt(title.strip())
    elif not prompt:
        prompt = record_format.prefix if record_format else ""
    unconditional = fmt.without_title(prompt)
    check(
        config.best_of == 1 or unconditional is not None,
        "best_of",
        "needs a title: it keeps the plot its title explains best (give a title, or a prompt that starts with one)",
    )
    scale = guidance_for(config, unconditional is not None, title_dropout)
    return TitleRequest(prompt, unconditional, dataclasses.replace(config, guidance_scale=scale), title)
