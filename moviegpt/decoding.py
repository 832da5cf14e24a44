"""Decoding strategies over a KV-cached model: sampling (temperature, top-k, top-p), greedy and beam search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .errors import UserError
from .model import GPT

DECODE_MODES = ("sample", "greedy", "beam")
OnToken = Callable[[int, int], None]  # (row, token id)
IsDone = Callable[[list[int]], bool]  # generated ids of one row -> has it reached a stop string?


@dataclass
class DecodingConfig:
    max_new_tokens: int = 500
    decode: str = "sample"
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0
    num_beams: int = 4
    length_penalty: float = 1.0
    num_samples: int = 1
    seed: int = 7331

    def __post_init__(self) -> None:
        checks = [
            (self.decode in DECODE_MODES, f"--decode must be one of {', '.join(DECODE_MODES)}, got {self.decode!r}"),
            (self.max_new_tokens >= 0, f"--max_new_tokens must be >= 0, got {self.max_new_tokens}"),
            (self.temperature > 0 or self.decode != "sample",
             f"--temperature must be > 0 when sampling, got {self.temperature}"),
            (self.top_k is None or self.top_k >= 1, f"--top_k must be >= 1, got {self.top_k}"),
            (self.top_p is None or 0 < self.top_p <= 1, f"--top_p must be in (0, 1], got {self.top_p}"),
            (self.repetition_penalty > 0, f"--repetition_penalty must be > 0, got {self.repetition_penalty}"),
            (self.num_beams >= 1, f"--num_beams must be >= 1, got {self.num_beams}"),
            (self.num_samples >= 1, f"--num_samples must be >= 1, got {self.num_samples}"),
            (self.decode != "beam" or self.num_samples <= self.num_beams,
             f"--num_samples ({self.num_samples}) cannot exceed --num_beams ({self.num_beams}) in beam search"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)


class IncrementalModel:
    """A language model (GPT, or the bigram) fed one position at a time through its cache.

    Past context_length (the learned positions) it re-encodes the last three quarters of the window into a fresh
    cache and goes on, so a generation can be as long as wanted.
    """

    def __init__(self, model: GPT, batch_size: int):
        self.model = model.eval()
        param = next(model.parameters())
        self.device = param.device
        self.cache = model.new_cache(batch_size, param.device, param.dtype)
        self.history: torch.Tensor | None = None

    @torch.inference_mode()
    def start(self, ids: torch.Tensor) -> torch.Tensor:
        """Feed the prompt ids (batch, time); returns next-token logits (batch, vocab) as float32."""
        self.history = ids
        window = ids[:, -self.model.config.context_length:]
        self.cache.length = 0
        return self.model(window, cache=self.cache)[0][:, -1].float()

    @torch.inference_mode()
    def advance(self, next_ids: torch.Tensor) -> torch.Tensor:
        """Append one token per row (batch,); returns the next-token logits."""
        self.history = torch.cat([self.history, next_ids[:, None]], dim=1)
        context = self.model.config.context_length
        if self.cache.length < context:
            return self.model(next_ids[:, None], cache=self.cache)[0][:, -1].float()
        keep = max(1, context - context // 4)
        self.cache.length = 0
        return self.model(self.history[:, -keep:], cache=self.cache)[0][:, -1].float()

    def reorder(self, rows: torch.Tensor) -> None:
        self.cache.reorder(rows)
        self.history = self.history.index_select(0, rows)


def apply_repetition_penalty(logits: torch.Tensor, history: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL/Hugging Face rule: a token already present has its logit divided by penalty (multiplied if < 0)."""
    if penalty == 1.0:
        return logits
    seen = logits.gather(1, history)
    return logits.scatter(1, history, torch.where(seen > 0, seen / penalty, seen * penalty))


def top_k_filter(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    if k is None or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float | None) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches p (nucleus sampling)."""
    if p is None or p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above each one
    remove = torch.zeros_like(logits, dtype=torch.bool).scatter(1, order, before >= p)
    return logits.masked_fill(remove, float("-inf"))


def next_tokens(logits: torch.Tensor, history: torch.Tensor, config: DecodingConfig,
                generator: torch.Generator) -> torch.Tensor:
    """One token per row, by greedy choice or by sampling with temperature, top-k and top-p."""
    logits = apply_repetition_penalty(logits, history, config.repetition_penalty)
    if config.decode == "greedy":
        return logits.argmax(dim=-1)
    logits = top_p_filter(top_k_filter(logits / config.temperature, config.top_k), config.top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)[:, 0]


def sample_or_greedy(lm: IncrementalModel, prompt: list[int], config: DecodingConfig, is_done: IsDone,
                     on_token: OnToken) -> list[list[int]]:
    """num_samples rows decoded together; each row stops on its own at a stop string or max_new_tokens."""
    rows = config.num_samples
    generator = torch.Generator(device=lm.device).manual_seed(config.seed)
    logits = lm.start(torch.tensor([prompt] * rows, device=lm.device))
    generated: list[list[int]] = [[] for _ in range(rows)]
    active = list(range(rows))
    for _ in range(config.max_new_tokens):
        tokens = next_tokens(logits, lm.history, config, generator)
        for row in list(active):
            token = int(tokens[row])
            generated[row].append(token)
            on_token(row, token)
            if is_done(generated[row]):
                active.remove(row)
        if not active:
            break
        logits = lm.advance(tokens)
    return generated


def beam_search(lm: IncrementalModel, prompt: list[int], config: DecodingConfig, is_done: IsDone,
                on_token: OnToken) -> list[list[int]]:
    """Beam search on summed log-probabilities; hypotheses ranked by score / length ** length_penalty."""
    beams = config.num_beams
    logits = lm.start(torch.tensor([prompt] * beams, device=lm.device))
    scores = torch.full((beams,), float("-inf"), device=lm.device)
    scores[0] = 0.0  # all rows start identical: expand only the first
    alive: list[list[int]] = [[] for _ in range(beams)]
    finished: list[tuple[float, list[int]]] = []
    for step in range(config.max_new_tokens):
        logits = apply_repetition_penalty(logits, lm.history, config.repetition_penalty)
        candidates = (scores[:, None] + logits.log_softmax(dim=-1)).flatten()
        top_scores, top_ids = candidates.topk(min(2 * beams, candidates.numel()))
        keep_rows, keep_tokens, keep_scores, keep_seqs = [], [], [], []
        for score, flat in zip(top_scores.tolist(), top_ids.tolist()):
            row, token = divmod(flat, logits.size(-1))
            if score == float("-inf"):
                break
            seq = alive[row] + [token]
            if is_done(seq):
                finished.append((score / len(seq) ** config.length_penalty, seq))
            else:
                keep_rows.append(row), keep_tokens.append(token), keep_scores.append(score), keep_seqs.append(seq)
            if len(keep_rows) == beams:
                break
        if len(finished) >= beams or not keep_rows or step == config.max_new_tokens - 1:
            break
        while len(keep_rows) < beams:  # pad with a dead copy so the batch keeps its size
            keep_rows.append(keep_rows[0]), keep_tokens.append(keep_tokens[0])
            keep_scores.append(float("-inf")), keep_seqs.append(keep_seqs[0])
        lm.reorder(torch.tensor(keep_rows, device=lm.device))
        scores = torch.tensor(keep_scores, device=lm.device)
        alive = keep_seqs
        logits = lm.advance(torch.tensor(keep_tokens, device=lm.device))
    finished += [(s / max(len(q), 1) ** config.length_penalty, q)
                 for s, q in zip(keep_scores, keep_seqs) if s != float("-inf")]
    best = [seq for _, seq in sorted(finished, key=lambda item: -item[0])[: config.num_samples]]
    for row, seq in enumerate(best):
        for token in seq:
            on_token(row, token)
    return best


def decode(model: GPT, prompt: list[int], config: DecodingConfig, is_done: IsDone,
           on_token: OnToken) -> list[list[int]]:
    """Generate num_samples continuations of prompt with the configured strategy; returns their token ids."""
    rows = config.num_beams if config.decode == "beam" else config.num_samples
    lm = IncrementalModel(model, rows)
    if config.max_new_tokens == 0:
        return [[] for _ in range(config.num_samples)]
    strategy = beam_search if config.decode == "beam" else sample_or_greedy
    return strategy(lm, prompt, config, is_done, on_token)
