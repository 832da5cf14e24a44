"""GPTConfig: the GPT's sizes and options, each declared once as a setting (help, check, resume rule); the model
that reads them is moviegpt/model.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from moviegpt.errors import check
from moviegpt.settings import FIXED, at_least, between, derived, setting, validate


@dataclass
class GPTConfig:
    """The model's sizes and options. The defaults are the original MovieGPT's sizes and nanoGPT's recipe, so a
    checkpoint saved before an option existed loads and generates as it did; presets (training/presets.py) choose
    other values."""

    vocab_size: int = derived(0)  # set from the tokenizer
    context_length: int = setting(256, "tokens the model sees at once", check=at_least(1), resume=FIXED)
    n_embd: int = setting(768, "embedding width", check=at_least(1), resume=FIXED)
    n_head: int = setting(8, "attention heads; must divide n_embd", check=at_least(1), resume=FIXED)
    n_layer: int = setting(8, "transformer blocks", check=at_least(1), resume=FIXED)
    dropout: float = setting(0.3, "dropout probability", check=between(0, 1, high_open=True), resume=FIXED)
    position: str = setting(
        "learned", "learned position embeddings, or rotary (rope)", choices=("learned", "rope"), resume=FIXED
    )
    norm: str = setting("layernorm", "normalisation layers", choices=("layernorm", "rmsnorm"), resume=FIXED)
    qk_norm: bool = setting(False, "RMS-normalise queries and keys per head", resume=FIXED)
    activation: str = setting(
        "gelu", "MLP nonlinearity (relu2: ReLU squared)", choices=("gelu", "relu", "relu2"), resume=FIXED
    )
    zero_init: bool = setting(False, "residual projections (and an untied head) start at zero", resume=FIXED)
    tie_weights: bool = setting(True, "the output head shares the token embedding", resume=FIXED)
    logit_softcap: float = setting(
        0.0, "> 0: logits = cap * tanh(logits / cap); 0 is off", check=at_least(0), resume=FIXED
    )
    bigram_logits: bool = setting(False, "add a learned table of next-token logits from the current one", resume=FIXED)
    smear: bool = setting(
        False, "mix the previous token's embedding into each position (cheap copying for one layer)", resume=FIXED
    )
    key_offset: bool = setting(
        False,
        "half of each key's slow-turning pairs comes from the previous position (copying in one layer)",
        resume=FIXED,
    )
    copy_path: bool = setting(
        False,
        "a gate mixes in a pointer over the context: each earlier position proposes the token that followed it",
        resume=FIXED,
    )
    rope_base: float = 10000.0
    bias: bool = True
    # Only the original MovieGPT's checkpoints need these (checkpoint/original.py); ours keep the defaults.
    attention_scale: str = "head_size"  # scores scaled by head_size ** -0.5, or "n_embd" ** -0.5 (original)
    head_bias: bool = False  # the original's output head has a bias

    def __post_init__(self) -> None:
        validate(self)
        check(self.vocab_size >= 0, "vocab_size", f"must be >= 0, got {self.vocab_size}")
        check(self.n_embd % self.n_head == 0, "n_embd", f"({self.n_embd}) must be divisible by n_head ({self.n_head})")
        check(
            self.position != "rope" or (self.n_embd // self.n_head) % 2 == 0,
            "n_head",
            "must leave an even head size for rotary positions",
        )
        check(
            not self.key_offset or self.n_embd // self.n_head >= 4,
            "n_head",
            "must leave a head size of 4 or more for key_offset",
        )
        check(self.attention_scale in ("head_size", "n_embd"), "attention_scale", "must be head_size or n_embd")

    def to_dict(self) -> dict:
        return asdict(self)
