"""GenerationConfig: how to generate (names as in Hugging Face `generate`), checked once when it is built."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from moviegpt.errors import check

STRATEGIES = ("sample", "greedy", "beam")


@dataclass
class GenerationConfig:
    max_new_tokens: int = 500
    strategy: str = "sample"  # sample (temperature, top_k, top_p), greedy, or beam (num_beams)
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    num_beams: int = 4
    length_penalty: float = 1.0
    num_samples: int = 1  # sequences generated together (HF: num_return_sequences)
    stop_strings: list[str] = field(default_factory=list)  # each sample ends before the first of these
    seed: int = 7331

    def __post_init__(self) -> None:
        check(self.strategy in STRATEGIES, "strategy", f"must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        check(self.max_new_tokens >= 1, "max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")
        check(
            math.isfinite(self.temperature) and (self.temperature > 0 or self.strategy != "sample"),
            "temperature",
            f"must be a finite number > 0, got {self.temperature}",
        )
        check(self.top_k is None or self.top_k >= 1, "top_k", f"must be >= 1, got {self.top_k}")
        check(self.top_p is None or 0 < self.top_p <= 1, "top_p", f"must be in (0, 1], got {self.top_p}")
        check(
            math.isfinite(self.repetition_penalty) and self.repetition_penalty > 0,
            "repetition_penalty",
            f"must be a finite number > 0, got {self.repetition_penalty}",
        )
        check(math.isfinite(self.length_penalty), "length_penalty", f"must be finite, got {self.length_penalty}")
        check(self.num_beams >= 1, "num_beams", f"must be >= 1, got {self.num_beams}")
        check(self.num_samples >= 1, "num_samples", f"must be >= 1, got {self.num_samples}")
        check(
            self.strategy != "beam" or self.num_samples <= self.num_beams,
            "num_samples",
            f"({self.num_samples}) cannot exceed num_beams ({self.num_beams}) in beam search",
        )
