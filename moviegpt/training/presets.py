"""Named recipes: values for the settings of the model and the training loop; explicit flags override them.

`original` is the declared defaults themselves: the original MovieGPT's sizes and nanoGPT's recipe (learned
positions, LayerNorm, GELU, tied head, AdamW with cosine decay), which is also what a run or checkpoint from before
an option existed was trained with.
"""

from __future__ import annotations

from typing import Any

# The speedrun community's recipe (modded-nanogpt), kept where it lowered validation loss at a fixed CPU budget
# here (bench/ablation.py). Left at the defaults after measuring: zero-init with an untied head (1.428 vs 1.411
# tied, 3 minutes on movies.txt), a logit soft-cap of 30 with bigram logits (1.4284 vs 1.4281 without).
MODERN_RECIPE: dict[str, Any] = {
    "position": "rope",
    "norm": "rmsnorm",
    "qk_norm": True,
    "activation": "relu2",
    "optimizer": "muon",
    "schedule": "wsd",
}

PRESETS: dict[str, dict[str, Any]] = {
    # The original MovieGPT's defaults (57M parameters; days on a GPU).
    "original": {},
    # Minutes on 2 CPU cores (0.6M parameters); pair it with --max_minutes. Tuned for the lowest validation loss at
    # 3 and 9 CPU minutes (a small model that takes many steps beat 192 and 256 wide ones at both). In movie-format
    # text 3 windows in 4 start at a movie and 4 heads of 32 look up the title: with both, a 3-minute model writes
    # about its title (bench/title.py; 2 heads, or windows anywhere, did not learn it in 3 minutes). The key offset
    # lets one layer look up what followed a character: it raised the demo's title use and cost no loss on real movies.
    # The copy path (a pointer over the context) makes real movies use their titles: at 9 minutes on movies.txt the
    # right title wins 70% of pairs instead of 52%, at no loss per character (docs/results.md, "Title").
    "fast": {
        "batch_size": 8,
        "context_length": 256,
        "n_embd": 128,
        "n_head": 4,
        "windows": "auto",
        "title_dropout": 0.1,  # so that guidance has a branch without the title it knows
        "key_offset": True,
        "copy_path": True,
        "n_layer": 3,
        "dropout": 0.0,
        "lr": 2e-3,
        "eval_iters": 20,
        **MODERN_RECIPE,
    },
    # A toy for smoke tests: seconds on a CPU, learns little.
    "tiny": {
        "batch_size": 8,
        "context_length": 32,
        "n_embd": 32,
        "n_head": 2,
        "n_layer": 2,
        "dropout": 0.0,
        "lr": 3e-3,
        "eval_iters": 5,
        "epochs": 2,
    },
}

# simple_bigram.py's defaults: a vocabulary x vocabulary table learns in seconds with large steps.
BIGRAM_DEFAULTS: dict[str, Any] = {"batch_size": 32, "context_length": 8, "lr": 1e-2, "eval_iters": 50}
