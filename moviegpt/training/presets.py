"""Named sets of model and batch sizes; explicit command-line flags override them."""

from __future__ import annotations

# The original MovieGPT's defaults (57M parameters; days on a GPU).
ORIGINAL = {
    "batch_size": 128,
    "context_length": 256,
    "n_embd": 768,
    "n_head": 8,
    "n_layer": 8,
    "dropout": 0.3,
    "lr": 2.5e-4,
    "eval_iters": 100,
    "epochs": 5,
}

PRESETS: dict[str, dict] = {
    "original": ORIGINAL,
    # Trains in minutes on 2 CPU cores (3.2M parameters); pair it with --max_minutes. Tuned for the lowest
    # validation loss in a few CPU minutes: small batches (many steps) beat large ones at this budget.
    "fast": {
        "batch_size": 12,
        "context_length": 64,
        "n_embd": 256,
        "n_head": 4,
        "n_layer": 4,
        "dropout": 0.0,
        "lr": 2e-3,
        "eval_iters": 20,
        "epochs": 5,
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

PRESET_FLAGS = tuple(ORIGINAL)

# simple_bigram.py's defaults: a vocabulary x vocabulary table learns in seconds with large steps.
BIGRAM_DEFAULTS = {"batch_size": 32, "context_length": 8, "lr": 1e-2, "eval_iters": 50, "epochs": 5}


def apply_preset(values: dict, preset: str) -> dict:
    """Fill every preset flag the user left unset (None) from the preset."""
    chosen = PRESETS[preset]
    return {**values, **{k: chosen[k] for k in PRESET_FLAGS if values.get(k) is None}}
