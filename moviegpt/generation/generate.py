"""generate(): from a prompt to finished texts, cut at stop strings, streamed to a streamer as they are made."""

from __future__ import annotations

from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.search import check_fits, generate_ids
from moviegpt.generation.stopping import RowText, Stopper
from moviegpt.generation.streamers import Streamer
from moviegpt.models import LanguageModel
from moviegpt.tokenizer import Tokenizer


def prompt_ids(tokenizer: Tokenizer, prompt: str) -> list[int]:
    """Encode the prompt (unknown characters are an error); an empty prompt starts after a newline."""
    if prompt:
        return tokenizer.encode(prompt)
    return tokenizer.encode("\n")[-1:] if tokenizer.can_encode("\n") else [0]


def generate(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prompt: str,
    config: GenerationConfig,
    streamer: Streamer | None = None,
    unconditional: str | None = None,
) -> list[str]:
    """config.num_samples continuations of prompt, each cut before its first stop string; with guidance
    (config.guidance_scale), steered away from `unconditional`, the same prompt without its title.

    The streamer receives each row's text as soon as it is final (never part of a stop string), and hears when a
    row ends, while the others may still be going.
    """
    check_fits(model, config, unconditional is not None)
    ids = prompt_ids(tokenizer, prompt)
    without = prompt_ids(tokenizer, unconditional) if unconditional is not None else None
    stopper = Stopper(tokenizer, config.stop or [])
    rows = [RowText(tokenizer, stopper) for _ in range(config.num_samples)]

    def on_token(row: int, token: int) -> None:
        piece = rows[row].push(token)
        if piece and streamer:
            streamer.put(row, piece)
        if rows[row].stopped and streamer:
            streamer.end(row)

    generate_ids(model, ids, config, stopper.is_done, on_token, without)
    for row, text in enumerate(rows):
        rest = text.finish()
        if rest and streamer:
            streamer.put(row, rest)
    return [row.text for row in rows]
