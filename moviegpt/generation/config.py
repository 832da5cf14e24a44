"""GenerationConfig: how to generate (names as in Hugging Face `generate`), declared and checked once."""

from __future__ import annotations

import math
from dataclasses import dataclass

from moviegpt.errors import check
from moviegpt.runtime import DEFAULT_SEED
from moviegpt.settings import Check, Setting, at_least, between, declared, setting, validate

STRATEGIES = ("sample", "greedy", "beam")
# One rule for every temperature given: a negative one is told about greedy and beam at once, as 0 with sampling is.
TEMPERATURE = Check(lambda v: v >= 0, "must be > 0 for sampling (0 is for --decode greedy or beam)")
LIVE = ("repl", "web")  # settings that can change between generations, at the `>> ` prompt and on the web page


@dataclass
class GenerationConfig:
    max_new_tokens: int = setting(500, "limit on generated tokens", check=at_least(1), live=LIVE)
    decode: str = setting(
        "sample",
        "sample (temperature/top-k/top-p), greedy (most likely), beam (beam search)",
        choices=STRATEGIES,
        live=("repl",),
    )
    temperature: float = setting(
        1.0, "sampling temperature > 0 (greedy and beam ignore it)", check=TEMPERATURE, live=LIVE
    )
    top_k: int | None = setting(None, "sample only from the k most likely tokens (off)", check=at_least(1), live=LIVE)
    top_p: float | None = setting(
        None,
        "nucleus sampling: the smallest set of tokens whose probability reaches p (off)",
        check=between(0, 1, low_open=True),
        live=LIVE,
    )
    repetition_penalty: float = setting(1.0, "> 1 discourages repeating tokens", check=between(1e-3, 1e3), live=LIVE)
    guidance_scale: float | None = setting(
        None,
        "classifier-free guidance for a title: next-token log-probabilities = without the title + scale x (with it - "
        "without it); above 1 follows the title more, 1 is off (default: 2 for a model trained with --title_dropout, "
        "else 1)",
        check=between(0, 100),
        live=LIVE,
    )
    best_of: int = setting(
        1,
        "sample this many plots for a title and keep the one the title explains best (most bits saved by the "
        "title: log2 p(plot | title) - log2 p(plot | no title)); the others are saved below it; 1 is plain sampling",
        check=at_least(1),
        live=LIVE,
    )
    num_beams: int = setting(4, "beams for --decode beam", check=at_least(1), live=("repl",))
    num_samples: int = setting(
        1, "samples generated together in one batch, each stopping on its own", check=at_least(1), live=("repl",)
    )
    stop: list[str] | None = setting(
        None,
        "stop a sample at this string (repeatable; default END_OF_MOVIE for movie-format models)",
        cli={"action": "append", "metavar": "STRING"},
    )
    seed: int = DEFAULT_SEED  # (--seed, declared with the Runtime)
    length_penalty: float = 1.0  # beam search: hypotheses ranked by score / length ** length_penalty

    def __post_init__(self) -> None:
        validate(self)
        check(
            self.temperature > 0 or self.decode != "sample",
            "temperature",
            TEMPERATURE.rule,
        )
        check(not self.stop or all(self.stop), "stop", "must not be an empty string")
        check(math.isfinite(self.length_penalty), "length_penalty", f"must be finite, got {self.length_penalty}")
        check(
            self.guidance_scale in (None, 1) or self.decode != "beam",
            "guidance_scale",
            "works with sample or greedy, not beam",
        )
        check(self.best_of == 1 or self.decode == "sample", "best_of", "chooses among samples: use --decode sample")
        check(
            self.decode != "beam" or self.num_samples <= self.num_beams,
            "num_samples",
            f"({self.num_samples}) cannot exceed num_beams ({self.num_beams}) in beam search",
        )


def live_settings(config: GenerationConfig, place: str) -> dict[str, Setting]:
    """The settings that can change between generations at a place ("repl" or "web"), by name."""
    return {s.name: s for s in declared(type(config)) if place in s.live}


def describe(config: GenerationConfig, seed: bool = True) -> str:
    """The settings as `:set` names them (and the seed: what a generated text records)."""
    values = {name: getattr(config, name) for name in live_settings(config, "repl")}
    return ", ".join(f"{name} {value}" for name, value in {**values, **({"seed": config.seed} if seed else {})}.items())
