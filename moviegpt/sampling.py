"""Text generation: sampling the next character, streaming it to the terminal, saving the result."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import torch
from torch.nn import functional as F

from .files import atomic_write
from .errors import UserError
from .model import GPT
from .runtime import autocast
from .tokenizer import CharTokenizer


@dataclass
class GenerationConfig:
    max_new_tokens: int = 500
    temperature: float = 1.0
    top_k: int | None = None
    seed: int = 7331

    def __post_init__(self) -> None:
        if self.max_new_tokens < 0:
            raise UserError(f"--max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if not self.temperature > 0:
            raise UserError(f"--temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise UserError(f"--top_k must be >= 1, got {self.top_k}")


def sample_next(logits: torch.Tensor, config: GenerationConfig, generator: torch.Generator) -> torch.Tensor:
    """Draw one token id per row from last-position logits, with temperature and top-k."""
    logits = logits.float() / config.temperature
    if config.top_k is not None and config.top_k < logits.size(-1):
        kth = torch.topk(logits, config.top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


@torch.no_grad()
def generate_ids(model: GPT, ids: list[int], config: GenerationConfig, device: torch.device,
                 dtype: torch.dtype) -> Iterator[int]:
    """Yield new token ids one at a time, feeding back at most context_length tokens."""
    model.eval()
    generator = torch.Generator(device=device).manual_seed(config.seed)
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    window = model.config.context_length
    for _ in range(config.max_new_tokens):
        with autocast(device, dtype):
            logits, _ = model(idx[:, -window:])
        next_id = sample_next(logits[:, -1, :], config, generator)
        idx = torch.cat([idx, next_id], dim=1)
        yield int(next_id)


def generate_text(model: GPT, tokenizer: CharTokenizer, prompt: str, config: GenerationConfig,
                  device: torch.device, dtype: torch.dtype) -> Iterator[str]:
    """The generated continuation of prompt, one character at a time.

    The prompt is checked at once (unknown characters raise UserError before anything is printed).
    An empty prompt starts from a newline (the start of a record), or from token 0 if the text had none.
    """
    ids = tokenizer.encode(prompt) or [tokenizer.stoi.get("\n", 0)]
    return (tokenizer.decode([token]) for token in generate_ids(model, ids, config, device, dtype))


def stream(prompt: str, pieces: Iterator[str], typewriter: bool, out: TextIO = sys.stdout) -> str:
    """Print prompt + generation once: piece by piece (typewriter) or all at the end. Returns the text."""
    if typewriter:
        out.write(prompt)
        out.flush()
    generated = []
    for piece in pieces:
        generated.append(piece)
        if typewriter:
            out.write(piece)
            out.flush()
    text = prompt + "".join(generated)
    out.write("\n" if typewriter else text + "\n")
    out.flush()
    return text


def save_output(text: str, outputs_dir: str | Path) -> Path:
    """Write text as UTF-8 to outputs_dir/output_<timestamp>.txt, never overwriting an existing file."""
    outputs_dir = Path(outputs_dir)
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    path = outputs_dir / f"output_{stamp}.txt"
    counter = 1
    while path.exists():
        path = outputs_dir / f"output_{stamp}_{counter}.txt"
        counter += 1
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    except OSError as exc:
        raise UserError(f"cannot write output to {outputs_dir}: {exc.strerror or exc}") from None
    return path
