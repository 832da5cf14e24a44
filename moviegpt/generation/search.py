"""Decoding strategies over a KV-cached model: sampling or greedy (rows decoded together) and beam search."""

from __future__ import annotations

from collections.abc import Callable

import torch

from moviegpt.errors import UserError
from moviegpt.generation.config import GenerationConfig
from moviegpt.generation.sampling import apply_repetition_penalty, next_tokens
from moviegpt.models import LanguageModel
from moviegpt.runtime import device_memory

OnToken = Callable[[int, int], None]  # (row, token id)
IsDone = Callable[[list[int]], bool]  # generated ids of one row -> has it reached a stop string?


def decoding_rows(config: GenerationConfig, guided: bool) -> int:
    """Rows decoded together: the beams, or the samples (twice over with guidance: a twin without the title)."""
    if config.decode == "beam":
        return config.num_beams
    return config.num_samples * config.best_of * (2 if guided and config.guidance_scale not in (None, 1) else 1)


def check_fits(model: LanguageModel, config: GenerationConfig, guided: bool) -> None:
    """Refuse, in one line and before anything per row is made, a batch whose KV cache the device cannot hold
    (measured on the meta device: nothing allocated); about as much again goes to each step's activations."""
    param, rows = next(model.parameters()), decoding_rows(config, guided)
    cache = model.new_cache(rows, torch.device("meta"), param.dtype)
    needed, memory = 2 * getattr(getattr(cache, "data", None), "nbytes", 0), device_memory(param.device)
    if memory is not None and needed > memory:
        what = "--num_beams" if config.decode == "beam" else "--num_samples or --best_of"
        raise UserError(
            f"generating {rows:,} rows at once ({what}, x 2 with guidance) needs about {needed / 2**30:,.0f} GiB "
            f"but the {param.device.type} has {memory / 2**30:,.0f} GiB; lower {what}"
        )


class IncrementalModel:
    """A language model (GPT, or the bigram) fed one position at a time through its cache.

    Past context_length a rotary model slides its cache window by one position per token; a model with learned
    positions re-encodes the last three quarters of the window into a fresh cache. Either way a generation can be
    as long as wanted.
    """

    def __init__(self, model: LanguageModel, batch_size: int):
        self.model = model.eval()
        param = next(model.parameters())
        self.device = param.device
        self.cache = model.new_cache(batch_size, param.device, param.dtype)
        self.history: torch.Tensor | None = None

    @torch.inference_mode()
    def start(self, ids: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """Feed the prompt ids (batch, time), each row left-padded by `pad` slots (prompts of different lengths in
        one batch); returns next-token logits (batch, vocab) as float32."""
        self.history, self.pad = ids, pad
        return self.encode(max(0, ids.shape[1] - self.model.config.context_length))

    def encode(self, begin: int) -> torch.Tensor:
        """A fresh cache of the history from position `begin` on; the logits after it."""
        self.cache.length = 0
        if self.pad is not None:
            self.cache.pad = (self.pad - begin).clamp(min=0)
        return self.model(self.history[:, begin:], cache=self.cache, last_only=True)[0][:, -1].float()

    @torch.inference_mode()
    def advance(self, next_ids: torch.Tensor) -> torch.Tensor:
        """Append one token per row (batch,); returns the next-token logits."""
        self.history = torch.cat([self.history, next_ids[:, None]], dim=1)
        context = self.model.config.context_length
        if self.cache.length >= context and getattr(self.model.config, "position", "learned") == "rope":
            self.cache.slide(1)  # rotary attention depends on relative positions only: drop the oldest, go on
        if self.cache.length < context:
            return self.model(next_ids[:, None], cache=self.cache)[0][:, -1].float()
        keep = max(1, context - context // 4)  # learned positions end at context_length: re-encode a window
        return self.encode(self.history.shape[1] - keep)

    def reorder(self, rows: torch.Tensor) -> None:
        self.cache.reorder(rows)
        self.history = self.history.index_select(0, rows)


def prompt_batch(prompts: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Prompts as one batch, the shorter ones left-padded, and each row's padding (None: all of one length)."""
    width = max(len(p) for p in prompts)
    pad = torch.tensor([width - len(p) for p in prompts], device=device)
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts], device=device)
    return ids, pad if bool(pad.any()) else None


def guided(logits: torch.Tensor, rows: int, scale: float) -> torch.Tensor:
    """Classifier-free guidance: the first `rows` rows saw the title, the others did not; in log-probabilities,
    without + scale x (with - without)."""
    with_title, without = logits[:rows].log_softmax(dim=-1), logits[rows:].log_softmax(dim=-1)
    return without + scale * (with_title - without)


def sample(
    lm: IncrementalModel,
    prompt: list[int],
    config: GenerationConfig,
    is_done: IsDone,
    on_token: OnToken,
    unconditional: list[int] | None = None,
) -> list[list[int]]:
    """num_samples rows sampled (or greedy) together; each stops on its own at a stop string or max_new_tokens.
    With guidance (`unconditional`: the prompt without its title) each row has a twin without the title, decoded
    in the same batch, and both take the token chosen from the guided log-probabilities."""
    rows = config.num_samples
    guide = unconditional is not None
    generator = torch.Generator(device=lm.device).manual_seed(config.seed)
    logits = lm.start(*prompt_batch([prompt] * rows + ([unconditional] * rows if guide else []), lm.device))
    generated: list[list[int]] = [[] for _ in range(rows)]
    active = list(range(rows))
    for step in range(config.max_new_tokens):
        scores = guided(logits, rows, config.guidance_scale) if guide else logits
        tokens = next_tokens(scores, lm.history[:rows], config, generator)
        for row in list(active):
            token = int(tokens[row])
            generated[row].append(token)
            on_token(row, token)
            if is_done(generated[row]):
                active.remove(row)
        if not active or step == config.max_new_tokens - 1:
            break
        logits = lm.advance(torch.cat([tokens, tokens]) if guide else tokens)
    return generated


def beam_search(
    lm: IncrementalModel, prompt: list[int], config: GenerationConfig, is_done: IsDone, on_token: OnToken
) -> list[list[int]]:
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
    finished += [
        (s / max(len(q), 1) ** config.length_penalty, q) for s, q in zip(keep_scores, keep_seqs) if s != float("-inf")
    ]
    best = [seq for _, seq in sorted(finished, key=lambda item: -item[0])[: config.num_samples]]
    for row, seq in enumerate(best):
        for token in seq:
            on_token(row, token)
    return best


def generate_ids(
    model: LanguageModel,
    prompt: list[int],
    config: GenerationConfig,
    is_done: IsDone | None = None,
    on_token: OnToken | None = None,
    unconditional: list[int] | None = None,
) -> list[list[int]]:
    """Token ids in, token ids out: num_samples continuations of prompt by the configured decoding (guided by
    the unconditional prompt when given and guidance_scale is not 1)."""
    is_done, on_token = is_done or (lambda ids: False), on_token or (lambda row, token: None)
    if config.decode == "beam":
        return beam_search(IncrementalModel(model, config.num_beams), prompt, config, is_done, on_token)
    if config.guidance_scale in (None, 1):  # no guidance: no twin rows without the title
        unconditional = None
    rows = decoding_rows(config, unconditional is not None)
    return sample(IncrementalModel(model, rows), prompt, config, is_done, on_token, unconditional)
