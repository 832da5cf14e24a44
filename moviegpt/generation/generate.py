"""generate(): from a prompt to finished texts, cut at stop strings, streamed to a streamer as they are made;
generate_request(): the same for a TitleRequest, choosing the best of K where it asks for that."""

from __future__ import annotations

import dataclasses

from moviegpt.generation.best_of import Generated, choose, title_bits
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.request import TitleRequest
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


def generate_request(
    model: LanguageModel, tokenizer: Tokenizer, request: TitleRequest, streamer: Streamer | None = None
) -> list[Generated]:
    """What a request asks for: num_samples results, each (with best_of K) the best of K plots sampled in one
    batch. With best_of the streamer receives each chosen text once all candidates are scored."""
    config, k = request.config, request.config.best_of
    if k == 1 or request.unconditional is None:  # (a request without a title has best_of 1: it checks)
        return [
            Generated(t) for t in generate(model, tokenizer, request.prompt, config, streamer, request.unconditional)
        ]
    batch = dataclasses.replace(config, num_samples=config.num_samples * k, best_of=1)
    texts = generate(model, tokenizer, request.prompt, batch, None, request.unconditional)
    results = choose(texts, title_bits(model, tokenizer, request.prompt, request.unconditional, texts), k)
    for row, result in enumerate(results):
        if streamer:
            streamer.put(row, result.text)
            streamer.end(row)
    return results
