"""Our Muon: torch's algorithm and state, with the Newton-Schulz precision chosen by the run (never bfloat16 where it
is slow)."""

import io

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from moviegpt import runtime
from moviegpt.model import GPT, GPTConfig
from moviegpt.settings import build
from moviegpt.training import muon
from moviegpt.training.config import TrainConfig
from moviegpt.training.dtype_probe import fastest_cpu_dtype
from moviegpt.training.muon import Muon
from moviegpt.training.presets import PRESETS
from tests.training.test_trainer import make_trainer

SHAPES = [(96, 32), (32, 32), (128, 32), (32, 128), (96, 32)]  # tall, square and wide, two of one shape


def twin_optimizers(ns_dtype: torch.dtype) -> tuple[list, list, torch.optim.Optimizer, Muon]:
    torch.manual_seed(0)
    theirs = [torch.randn(shape, requires_grad=True) for shape in SHAPES]
    ours = [p.detach().clone().requires_grad_() for p in theirs]
    settings = dict(lr=0.02, weight_decay=0.01, momentum=0.95)
    return theirs, ours, torch.optim.Muon(theirs, **settings), Muon(ours, **settings, ns_dtype=ns_dtype)


def step_both(theirs, ours, their_optimizer, our_optimizer, steps: int) -> None:
    for _ in range(steps):
        for p, q in zip(theirs, ours, strict=True):
            p.grad = torch.randn_like(p)
            q.grad = p.grad.clone()
        their_optimizer.step()
        our_optimizer.step()


@pytest.mark.parametrize("ns_dtype", [torch.bfloat16, torch.float32])
def test_muon_matches_torchs_on_the_same_gradients(ns_dtype):
    """Within bfloat16's rounding of the update: in float32 ours is the more precise; in bfloat16 (torch's
    precision) the matrices of one shape go as one batched product, which a CPU without native bfloat16 rounds
    otherwise than one product at a time (one of two 96x32 matrices differed by 2e-4 on an AVX2-only CPU, the other
    and every matrix of its own shape matched exactly)."""
    theirs, ours, their_optimizer, our_optimizer = twin_optimizers(ns_dtype)
    start = [p.detach().clone() for p in theirs]
    step_both(theirs, ours, their_optimizer, our_optimizer, 5)
    moved = max((p - s).abs().max().item() for p, s in zip(theirs, start, strict=True))
    differ = max((p - q).abs().max().item() for p, q in zip(theirs, ours, strict=True))
    assert moved > 0.02 and differ < 0.05 * moved  # (bfloat16 keeps about 3 digits)


def test_a_state_saved_by_torchs_muon_loads_and_goes_on_alike():
    """Checkpoints saved before our Muon hold torch.optim.Muon's state: it loads, and the steps after it agree."""
    theirs, ours, their_optimizer, our_optimizer = twin_optimizers(torch.bfloat16)
    step_both(theirs, ours, their_optimizer, torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)]), 3)
    for p, q in zip(theirs, ours, strict=True):
        q.data.copy_(p.data)
    saved = io.BytesIO()
    torch.save(their_optimizer.state_dict(), saved)  # as in a checkpoint file (else both share the buffers)
    saved.seek(0)
    our_optimizer.load_state_dict(torch.load(saved))
    step_both(theirs, ours, their_optimizer, our_optimizer, 2)
    assert all(torch.allclose(p, q, rtol=0, atol=1e-6) for p, q in zip(theirs, ours, strict=True))


class DtypeRecorder(TorchDispatchMode):
    """Every dtype an operation produced while active."""

    def __init__(self):
        super().__init__()
        self.dtypes: set[torch.dtype] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(tensor, torch.Tensor):
                self.dtypes.add(tensor.dtype)
        return out


@pytest.mark.parametrize("native", [False, True])
def test_a_cpu_without_native_bfloat16_makes_no_bfloat16_tensor_in_a_training_step(tmp_path, monkeypatch, native):
    """The fast preset's recipe (Muon) with --dtype auto: where bfloat16 products are slow, nothing of a training
    step is bfloat16 (torch's Muon made every update bfloat16); where they are fast and the run trains in bfloat16,
    Muon's iteration is bfloat16 too."""
    runtime.cpu_bf16_fast.cache_clear()
    monkeypatch.setattr(runtime, "cpu_bf16_fast", lambda: native)
    fast = {k: PRESETS["fast"][k] for k in ("optimizer", "schedule", "position", "norm", "qk_norm", "activation")}
    model = GPT(build(GPTConfig, {**fast, "n_embd": 32, "n_head": 2, "n_layer": 2}, vocab_size=20))
    monkeypatch.setattr("moviegpt.training.dtype_probe.measure", lambda *a: {"float32": 2.0, "bfloat16": 1.0})
    dtype = fastest_cpu_dtype(model, 8, tmp_path / "dtypes.json", say=lambda line: None)[0]
    assert dtype == (torch.bfloat16 if native else torch.float32)
    trainer = make_trainer(
        tmp_path, dtype=dtype, **{k: v for k, v in fast.items() if k in TrainConfig.__dataclass_fields__}
    )
    trainer.train_step()  # (the first step makes the optimizer's state)
    with DtypeRecorder() as recorder:
        trainer.train_step()
    assert (torch.bfloat16 in recorder.dtypes) is native
    assert trainer.optimizer.optimizers["muon"].ns_dtype == dtype


def test_the_gram_space_iteration_gives_the_plain_iterations_result():
    """For wide matrices in float32 the iteration runs on X X^T and multiplies X once: the same orthogonalisation
    (against float64's plain iteration, as close as float32's plain iteration)."""
    torch.manual_seed(0)
    wide = torch.randn(3, 32, 128, dtype=torch.float64)
    exact = muon.orthogonalise(wide, torch.float64)  # (float64: the plain iteration)
    plain = muon.orthogonalise(wide.float(), torch.float32).double()
    gram = muon.in_gram_space(wide.float() / wide.float().norm(dim=(-2, -1), keepdim=True), muon.COEFFICIENTS, 5)
    assert (gram.double() - exact).abs().max() < max(3 * (plain - exact).abs().max().item(), 1e-6)
    assert torch.allclose(muon.orthogonalise(wide.float(), torch.float32), gram, atol=1e-5)
