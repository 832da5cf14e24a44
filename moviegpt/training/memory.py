"""Whether a run fits in the device's memory, estimated before anything is built or created: a model of a
trillion parameters or a batch of a hundred million rows is refused in one line, not by the allocator."""

from __future__ import annotations

import torch

from moviegpt.errors import UserError
from moviegpt.models import build_model
from moviegpt.runtime import device_memory

BYTES_PER_PARAMETER = 16  # float32 weights and gradients, and AdamW's two moments
ACTIVATION_FLOATS = 12  # float32 values kept per token, layer and embedding channel for the backward pass (about)


def training_bytes(model_config, vocab_size: int, batch_size: int) -> tuple[int, int]:
    """The parameters of the model (counted on the meta device: nothing allocated) and about how many bytes
    training it on batches of batch_size sequences needs."""
    with torch.device("meta"):
        parameters = build_model(model_config, vocab_size).num_parameters()
    width, layers = getattr(model_config, "n_embd", vocab_size), getattr(model_config, "n_layer", 1)
    tokens = batch_size * model_config.context_length
    return parameters, parameters * BYTES_PER_PARAMETER + ACTIVATION_FLOATS * 4 * width * layers * tokens


def check_fits_in_memory(model_config, vocab_size: int, batch_size: int, device: torch.device) -> None:
    memory = device_memory(device)
    parameters, needed = training_bytes(model_config, vocab_size, batch_size)
    if memory is not None and needed > memory:
        raise UserError(
            f"this run needs about {needed / 2**30:,.0f} GiB ({parameters:,} parameters, batches of {batch_size:,} x "
            f"{model_config.context_length}) but the {device.type} has {memory / 2**30:,.0f} GiB; lower --batch_size "
            "or the model's size (--n_embd, --n_layer), or try --preset fast"
        )
