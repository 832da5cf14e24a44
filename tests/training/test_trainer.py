import json
import math
import time

import pytest
import torch

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint
from moviegpt.checkpoint.storage import epoch_files
from moviegpt.data.dataset import TextDataset
from moviegpt.errors import UserError
from moviegpt.model import GPT, GPTConfig
from moviegpt.runtime import CompiledModel
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.training import trainer as trainer_module
from moviegpt.training.budget import SaveSchedule
from moviegpt.training.config import TrainConfig
from moviegpt.training.distributed import SINGLE, DistContext
from moviegpt.training.optim import Optimizers, lr_factor, make_optimizer
from moviegpt.training.progress import position
from moviegpt.training.run_folder import RunCheckpoints
from moviegpt.training.tracking import RunLogger
from moviegpt.training.trainer import Trainer
from tests.helpers import TINY_TEXT

TEXT = "to be or not to be, that is the question. " * 40


def make_trainer(
    tmp_path,
    text=TEXT,
    dtype=torch.float32,
    context_length=16,
    dropout=0.0,
    clock=time.perf_counter,
    context=SINGLE,
    **overrides,
) -> Trainer:
    torch.manual_seed(0)
    tok = CharTokenizer(text)
    data = TextDataset.from_tokens(tok.encode_array(text), tok)
    model = GPT(
        GPTConfig(
            vocab_size=tok.vocab_size, context_length=context_length, n_embd=32, n_head=2, n_layer=2, dropout=dropout
        )
    )
    config = TrainConfig(**{"batch_size": 8, "lr": 3e-3, "epochs": 1, "eval_iters": 2, "logging_steps": 5, **overrides})
    logger = RunLogger(tmp_path, "disabled", "test", {})
    checkpoints = RunCheckpoints(tmp_path, config.keep_checkpoints)
    return Trainer(
        model,
        data,
        config,
        torch.device("cpu"),
        dtype,
        logger,
        checkpoints,
        {"tokenizer": tok.to_dict(), "train_args": {"name": "test"}},
        context,
        clock,
    )


def read_events(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]


def test_tiny_model_memorises_a_short_text(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1, lr=1e-2, max_iters=500, eval_interval=1000, warmup_iters=10)
    trainer.steps_per_epoch = trainer.total_steps = 500
    result = trainer.train()
    assert result.train_loss < 0.25, result  # from ~3.0 at init


def test_schedule_warms_up_then_decays_to_the_floor():
    config = TrainConfig(lr=1.0, min_lr_ratio=0.1)
    assert config.lr * lr_factor(config, step=0, progress=0.0, warmup=10) == pytest.approx(0.1)
    assert config.lr * lr_factor(config, step=9, progress=0.0, warmup=10) == pytest.approx(1.0)
    assert config.lr * lr_factor(config, step=50, progress=0.5, warmup=10) == pytest.approx(0.55)
    assert config.lr * lr_factor(config, step=100, progress=1.0, warmup=10) == pytest.approx(0.1)


def test_warmup_stable_decay_schedule():
    config = TrainConfig(lr=1.0, schedule="wsd", cooldown_frac=0.4, min_lr_ratio=0.1)
    assert config.lr * lr_factor(config, step=4, progress=0.0, warmup=10) == pytest.approx(0.5)
    assert config.lr * lr_factor(config, step=50, progress=0.3, warmup=10) == pytest.approx(1.0)
    assert config.lr * lr_factor(config, step=60, progress=0.6, warmup=10) == pytest.approx(1.0)  # the cooldown starts
    assert config.lr * lr_factor(config, step=80, progress=0.8, warmup=10) == pytest.approx(0.55)
    assert config.lr * lr_factor(config, step=99, progress=1.0, warmup=10) == pytest.approx(0.1)
    assert config.lr * lr_factor(config, step=99, progress=1.7, warmup=10) == pytest.approx(0.1)  # past a time budget


def test_muon_takes_the_hidden_matrices_and_adamw_the_rest():
    model = GPT(
        GPTConfig(vocab_size=10, context_length=8, n_embd=16, n_head=2, n_layer=2, dropout=0.0, tie_weights=False)
    )
    optimizers = make_optimizer(model, TrainConfig(optimizer="muon", muon_lr=0.05), torch.device("cpu"))
    muon = [p for g in optimizers.optimizers["muon"].param_groups for p in g["params"]]
    expected = [p for n, p in model.named_parameters() if n.startswith("blocks.") and p.dim() == 2]
    assert len(muon) == len(expected) == 8 and all(any(p is q for q in expected) for p in muon)
    adamw = [p for g in optimizers.optimizers["adamw"].param_groups for p in g["params"]]
    assert any(p is model.token_embedding.weight for p in adamw) and any(p is model.lm_head.weight for p in adamw)
    assert len(muon) + len(adamw) == len(list(model.parameters()))
    optimizers.set_lr_factor(0.5)
    assert optimizers.optimizers["muon"].param_groups[0]["lr"] == pytest.approx(0.025)


def test_a_checkpoint_from_before_muon_resumes_its_adamw_state():
    model = GPT(GPTConfig(vocab_size=10, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))
    legacy = make_optimizer(model, TrainConfig(), torch.device("cpu")).optimizers["adamw"]
    model(torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, dtype=torch.long))[1].backward()
    legacy.step()
    again = make_optimizer(model, TrainConfig(), torch.device("cpu"))
    again.load_state_dict(legacy.state_dict())  # the bare AdamW state dict that version 1 checkpoints hold
    assert again.optimizers["adamw"].state_dict()["state"][0]["step"] == 1


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(vocab_size=10, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))
    decayed, plain = make_optimizer(model, TrainConfig(), torch.device("cpu")).param_groups
    assert decayed["weight_decay"] > 0 and plain["weight_decay"] == 0
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert sum(p.numel() for g in (decayed, plain) for p in g["params"]) == model.num_parameters()


def test_max_iters_stops_evaluates_and_checkpoints(tmp_path):
    trainer = make_trainer(tmp_path, epochs=3, max_iters=7)
    assert trainer.steps_per_epoch == 11
    result = trainer.train()
    assert result.step == 7
    state = load_checkpoint(result.checkpoint)
    assert (state.trainer["step"], state.trainer["epoch"], state.trainer["epoch_completed"]) == (7, 1, False)
    assert state.trainer["train_config"]["max_iters"] == 7
    assert math.isclose(state.trainer["metrics"]["val_loss"], result.val_loss)
    events = read_events(tmp_path)
    assert events[-1]["step"] == 7 and "val_loss" in events[-1]


def test_every_epoch_writes_a_checkpoint_and_old_ones_are_pruned(tmp_path):
    trainer = make_trainer(tmp_path, epochs=4, keep_checkpoints=2, max_iters=8)
    trainer.steps_per_epoch = 2
    trainer.train()
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pt")) == ["epoch_003.pt", "epoch_004.pt"]
    assert load_checkpoint(tmp_path / "epoch_004.pt").trainer["epoch_completed"] is True


def test_last_and_best_checkpoints(tmp_path):
    trainer = make_trainer(tmp_path, epochs=4, keep_checkpoints=1, lr=3e-2)  # a high rate: val loss goes up and down
    trainer.steps_per_epoch = 3
    trainer.train()
    events = [e for e in read_events(tmp_path) if "val_loss" in e]
    best_event = min(events, key=lambda e: e["val_loss"])
    assert load_checkpoint(tmp_path / "last.pt").trainer["step"] == events[-1]["step"] == 12
    best = load_checkpoint(tmp_path / "best.pt")
    assert best.trainer["step"] == best_event["step"] and best.trainer["metrics"]["val_loss"] == best_event["val_loss"]
    assert best.trainer["best_val_loss"] == best_event["val_loss"]
    assert [p.name for p in tmp_path.glob("epoch_*.pt")] == ["epoch_004.pt"]


def test_metrics_have_global_steps_and_all_fields(tmp_path):
    trainer = make_trainer(tmp_path, epochs=2, logging_steps=5)
    trainer.train()
    events = read_events(tmp_path)
    train_events = [e for e in events if "train_loss" in e]
    eval_events = [e for e in events if "val_loss" in e]
    assert [e["step"] for e in train_events] == [1, 5, 10, 15, 20]  # from the first step; never restarts per epoch
    for e in train_events:
        assert {"epoch", "tokens_seen", "elapsed_s", "tokens_per_s", "lr"} <= e.keys()
    assert eval_events[-1]["step"] == 22 and eval_events[-1]["epoch"] == 2
    assert eval_events[-1]["val_perplexity"] == pytest.approx(math.exp(eval_events[-1]["val_loss"]))
    assert train_events[-1]["tokens_seen"] == 20 * 8 * 16


def test_time_budget_stops_training(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1000, max_minutes=0.02)
    result = trainer.train()
    assert 0 < result.step < trainer.steps_per_epoch * 1000
    assert trainer.budget.elapsed() < 20


def test_same_seed_same_weights(tmp_path):
    a = make_trainer(tmp_path / "a", max_iters=4)
    b = make_trainer(tmp_path / "b", max_iters=4)
    a.train(), b.train()
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


def test_bf16_autocast_trains_on_cpu(tmp_path):
    trainer = make_trainer(tmp_path, dtype=torch.bfloat16, max_iters=30, warmup_iters=2)
    first = trainer.evaluate()["train"]
    result = trainer.train()
    assert result.train_loss < first - 0.3
    assert next(trainer.model.parameters()).dtype == torch.float32  # fp32 master weights


class FixedBatches:
    """A dataset stand-in that hands out consecutive rows of one fixed batch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y, self.next = x, y, 0

    def steps_per_epoch(self, batch_size: int, context_length: int) -> int:
        return 1

    def get_batch(self, split, batch_size, context_length, generator, shard=(0, 1), windows="", title_dropout=0.0):
        rows = slice(self.next, self.next + batch_size)
        self.next = (self.next + batch_size) % len(self.x)
        return self.x[rows], self.y[rows]


def gradients(tmp_path, batch_size: int, grad_accum: int) -> list[torch.Tensor]:
    trainer = make_trainer(tmp_path, batch_size=batch_size, grad_accum=grad_accum)
    data = torch.randint(0, trainer.model.config.vocab_size, (8, 17), generator=torch.Generator().manual_seed(1))
    trainer.dataset = FixedBatches(data[:, :-1], data[:, 1:])
    loss = trainer.accumulate_gradients()
    return [loss] + [p.grad.clone() for p in trainer.model.parameters()]


def test_two_accumulated_half_batches_give_the_full_batch_gradient(tmp_path):
    full = gradients(tmp_path / "full", batch_size=8, grad_accum=1)
    halves = gradients(tmp_path / "halves", batch_size=4, grad_accum=2)
    for a, b in zip(full, halves):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)


def test_grad_accum_counts_tokens_and_shortens_the_epoch(tmp_path):
    plain = make_trainer(tmp_path / "a", max_iters=2)
    accum = make_trainer(tmp_path / "b", max_iters=2, grad_accum=2)
    assert accum.steps_per_epoch == plain.steps_per_epoch // 2
    plain.train(), accum.train()
    assert accum.tokens_seen == 2 * plain.tokens_seen


def compile_with_backend(monkeypatch, backend) -> None:
    """torch.compile with a backend of the test's (real tracing, no C++ compiler needed)."""
    compile_ = torch.compile
    monkeypatch.setattr(torch, "compile", lambda model: compile_(model, backend=backend))


def test_a_compile_failure_at_a_later_call_falls_back_once(tmp_path, monkeypatch):
    """The first evaluation's eval-mode forward compiles anew: a g++ failure there (CppCompileError on this CPU)
    fell through the first-call guard as a 2,781-line traceback. Now any call's compile failure falls back, once."""
    compiles = []

    def fails_the_second_time(graph, example_inputs):
        compiles.append(1)
        if len(compiles) > 1:
            raise RuntimeError("CppCompileError: C++ compile error")
        return graph

    compile_with_backend(monkeypatch, fails_the_second_time)
    trainer = make_trainer(tmp_path, max_iters=3, compile=True, eval_iters=1)
    with pytest.warns(UserWarning, match="--compile failed, training without it") as warned:
        result = trainer.train()
    assert result.step == 3 and math.isfinite(result.val_loss) and trainer.forward.eager
    assert len([w for w in warned if "--compile failed" in str(w.message)]) == 1


def test_compile_failure_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch):
    def broken(graph, example_inputs):
        raise RuntimeError("no C++ compiler found")

    compile_with_backend(monkeypatch, broken)
    trainer = make_trainer(tmp_path, max_iters=3, compile=True)
    with pytest.warns(UserWarning, match="--compile failed, training without it: no C\\+\\+ compiler found"):
        result = trainer.train()
    assert result.step == 3 and math.isfinite(result.val_loss)


def test_an_error_inside_a_compiled_forward_reaches_the_user(monkeypatch, recwarn):
    """Only a compilation failure at the first call falls back; a later error (here out of memory in the compiled
    code) is raised as it is, and so is an error of the model itself at the first call."""

    def runs_out_of_memory_later(graph, example_inputs):
        calls = []

        def run(*args):
            calls.append(1)
            if len(calls) > 1:
                raise torch.OutOfMemoryError("out of memory in a compiled kernel")
            return graph(*args)

        return run

    compile_with_backend(monkeypatch, runs_out_of_memory_later)
    model = CompiledModel(torch.nn.Linear(4, 4))
    model(torch.zeros(2, 4))
    with pytest.raises(torch.OutOfMemoryError):
        model(torch.zeros(2, 4))
    with pytest.raises(RuntimeError, match="shape|size|dim"):
        CompiledModel(torch.nn.Linear(4, 4))(torch.zeros(2, 5))
    assert not [w for w in recwarn if "--compile failed" in str(w.message)]


@pytest.mark.filterwarnings("error:--compile failed")  # really compiled, not the eager fallback
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.slow
def test_checkpoint_of_a_compiled_model_loads_uncompiled(tmp_path):
    trainer = make_trainer(tmp_path, max_iters=2, compile=True, eval_iters=1)
    result = trainer.train()
    state = load_checkpoint(result.checkpoint)
    assert not any(k.startswith("_orig_mod.") for k in state.model)
    model = GPT(GPTConfig(**state.model_config))
    model.load_state_dict(state.model)
    idx = torch.randint(0, model.config.vocab_size, (1, 16))
    assert torch.allclose(model.eval()(idx)[0], trainer.model.eval()(idx)[0])


class StepClock:
    """A clock that advances a fixed time per optimizer step, so time-budgeted runs are repeatable."""

    def __init__(self, seconds_per_step: float):
        self.seconds_per_step, self.trainer = seconds_per_step, None

    def __call__(self) -> float:
        return self.trainer.step * self.seconds_per_step if self.trainer else 0.0


def timed_trainer(tmp_path, seconds_per_step: float | None, **settings) -> Trainer:
    clock = StepClock(seconds_per_step) if seconds_per_step else time.perf_counter
    trainer = make_trainer(tmp_path, clock=clock, **settings)
    if seconds_per_step:
        clock.trainer = trainer
    return trainer


def interrupted_and_resumed(tmp_path, stop_at: int, seconds_per_step=None, forget=(), reseed=False, **settings):
    """The same run whole, and stopped after `stop_at` steps then continued by a new Trainer from its checkpoint
    (without the `forget` keys of the trainer state; with `reseed`, other random numbers after loading it);
    returns both trainers and the checkpoint. The thread count is fixed: exactness is promised only then."""
    settings.setdefault("threads", torch.get_num_threads())
    whole = timed_trainer(tmp_path / "whole", seconds_per_step, **settings)
    whole.train()
    first = timed_trainer(tmp_path / "first", seconds_per_step, **settings)
    original_step = first.train_step

    def step_then_stop():
        loss = original_step()
        if first.step == stop_at:
            first.request_stop()
        return loss

    first.train_step = step_then_stop
    state = load_checkpoint(first.train().checkpoint)
    assert state.trainer["step"] == stop_at
    torch.manual_seed(123)  # a fresh process would start from other RNG states
    second = timed_trainer(tmp_path / "second", seconds_per_step, **settings)
    second.model.load_state_dict(state.model)
    second.load_state_dict({k: v for k, v in state.trainer.items() if k not in forget})
    if reseed:
        torch.manual_seed(99)
    second.train()
    return whole, second, state


def same_weights(a: Trainer, b: Trainer) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


@pytest.mark.parametrize("optimizer, schedule", [("adamw", "cosine"), ("muon", "wsd")])
def test_interrupted_then_resumed_run_gives_bitwise_identical_weights(tmp_path, optimizer, schedule):
    """N steps in one run == 15 steps, a checkpoint, a new process-like Trainer restored from it, the rest."""
    settings = dict(epochs=3, dtype=torch.float32, optimizer=optimizer, schedule=schedule)
    whole, second, state = interrupted_and_resumed(tmp_path, 15, **settings)  # mid-epoch (11 steps per epoch)
    assert state.trainer["epoch_completed"] is False
    assert second.step == whole.step == 33 and same_weights(whole, second)


def test_a_run_with_dropout_resumes_exactly(tmp_path):
    """Dropout draws from the generators saved per rank; the resumed run draws the same masks."""
    whole, second, _ = interrupted_and_resumed(tmp_path, 7, epochs=2, dropout=0.3)
    assert same_weights(whole, second)
    _, reseeded, _ = interrupted_and_resumed(tmp_path / "reseeded", 7, reseed=True, epochs=2, dropout=0.3)
    assert not same_weights(whole, reseeded)  # other dropout masks after the resume: other weights


def test_a_run_on_record_windows_with_title_dropout_resumes_exactly(tmp_path):
    """Windows at record starts with titles dropped draw from the same data generator: still exact."""
    text = TINY_TEXT * 3
    whole, second, _ = interrupted_and_resumed(tmp_path, 7, text=text, epochs=2, windows="records", title_dropout=0.3)
    assert second.step == whole.step and same_weights(whole, second)


def test_a_timed_run_interrupted_in_its_cooldown_resumes_exactly(tmp_path):
    """The training time so far is saved: resumed at 80% of --max_minutes, a WSD run goes on with its cooldown
    (the learning rate at 1/3 of its peak and falling) instead of starting the budget and the peak over."""
    settings = dict(epochs=1000, max_minutes=0.02, schedule="wsd", eval_iters=1)  # 1.2 s: 12 steps of 0.1 s
    whole, second, state = interrupted_and_resumed(tmp_path, 10, seconds_per_step=0.1, **settings)
    assert state.trainer["budget"]["elapsed"] == pytest.approx(1.0)
    assert second.step == whole.step == 12 and same_weights(whole, second)
    _, forgot, _ = interrupted_and_resumed(tmp_path / "forgot", 10, 0.1, forget=("budget",), **settings)
    assert forgot.step == 22 and not same_weights(whole, forgot)  # without the clock: 12 more steps from the peak


def test_extending_a_finished_run_goes_on_at_the_learning_rate_it_ended_with(tmp_path):
    """--resume with a larger --max_iters (or --epochs, --max_minutes) extends the run: the learning rate never
    goes back up to the peak; it stays at the rate the run had reached (here the floor) for the extra steps."""
    done = make_trainer(tmp_path, max_iters=10, epochs=5, logging_steps=1)
    state = load_checkpoint(done.train().checkpoint).trainer
    longer = make_trainer(tmp_path / "longer", max_iters=16, epochs=5, logging_steps=1)
    longer.load_state_dict(state)
    longer.train()
    lrs = [e["lr"] for e in read_events(tmp_path / "longer") if "lr" in e]
    assert len(lrs) == 6 and max(lrs) <= min(e["lr"] for e in read_events(tmp_path) if "lr" in e) + 1e-12
    again = make_trainer(tmp_path / "again", max_iters=10, epochs=5)
    again.load_state_dict({**state, "step": 5})  # the same horizon: an ordinary resume, no cap
    assert again.schedule.cap == 1.0


def test_the_model_is_on_its_device_before_the_optimizer_compile_and_data_parallel(tmp_path, monkeypatch):
    """nanoGPT's order, checked through the calls (no GPU here): model to device, optimizer, compile, DDP; the
    optimizer state is loaded into an optimizer whose parameters are on the device already."""
    calls = []
    model_to = torch.nn.Module.to

    def to(module, *args, **kwargs):
        if isinstance(module, GPT):
            calls.append("model to device")
        return model_to(module, *args, **kwargs)

    def record(name, result=None):
        return lambda *args, **kwargs: calls.append(name) or (result(*args, **kwargs) if result else args[0])

    monkeypatch.setattr(torch.nn.Module, "to", to)
    monkeypatch.setattr(trainer_module, "make_optimizer", record("optimizer made", make_optimizer))
    monkeypatch.setattr(trainer_module, "CompiledModel", record("compiled"))
    monkeypatch.setattr(trainer_module, "wrap_for_data_parallel", record("wrapped for data parallel"))
    trainer = make_trainer(tmp_path, compile=True, context=DistContext(rank=0, local_rank=0, world_size=2))
    monkeypatch.setattr(Optimizers, "load_state_dict", record("optimizer state loaded"))
    trainer.load_state_dict(fake_state(trainer))
    assert calls == [
        "model to device",
        "optimizer made",
        "compiled",
        "wrapped for data parallel",
        "optimizer state loaded",
    ]


def fake_state(trainer: Trainer) -> dict:
    return {
        "optimizer": {},
        "scaler": trainer.optimizer.scaler.state_dict(),
        "step": 1,
        "tokens_seen": 1,
        "rng": {"data": trainer.data_generator.get_state(), "torch": torch.get_rng_state()},
    }


def test_resuming_a_finished_run_says_what_to_do(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1)
    state = load_checkpoint(trainer.train().checkpoint)
    again = make_trainer(tmp_path / "again", epochs=1)
    again.load_state_dict(state.trainer)
    with pytest.raises(UserError, match="raise --epochs or --max_iters"):
        again.train()


def test_periodic_saves_mid_epoch_resume_exactly(tmp_path):
    """--checkpoint_every_steps writes mid-epoch checkpoints that continue to the same weights as one run."""
    whole = make_trainer(tmp_path / "whole", epochs=2)
    whole.train()
    periodic = make_trainer(tmp_path / "periodic", epochs=2, checkpoint_every_steps=4)
    saved = []
    original_write = periodic.checkpoints.write

    def write_and_keep(epoch, state, val_loss):
        path = original_write(epoch, state, val_loss)
        saved.append((state.trainer["step"], state.trainer["epoch_completed"], val_loss))
        if state.trainer["step"] == 8:
            (tmp_path / "step8.pt").write_bytes(path.read_bytes())
        return path

    periodic.checkpoints.write = write_and_keep
    periodic.train()
    assert [s[:2] for s in saved] == [
        (4, False),
        (8, False),
        (11, True),
        (12, False),
        (16, False),
        (20, False),
        (22, True),
    ]
    assert all(val is None for step, _, val in saved if step % 11)  # no evaluation, so never best.pt
    resumed = make_trainer(tmp_path / "resumed", epochs=2)
    state = load_checkpoint(tmp_path / "step8.pt")
    resumed.model.load_state_dict(state.model)
    resumed.load_state_dict(state.trainer)
    resumed.train()
    for a, b in zip(whole.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_timed_checkpoints_fall_due_after_the_interval_of_the_agreed_time():
    """The agreed time (rank 0's under torchrun) decides, never a rank's own clock: every rank saves together."""
    saves = SaveSchedule(every_steps=None, every_minutes=0.5)
    saves.restart(100.0)
    assert not saves.due(7, 100.0) and not saves.due(8, 129.0) and saves.due(9, 130.0)
    saves.saved(130.0)
    assert not saves.due(10, 131.0)
    assert SaveSchedule(every_steps=5, every_minutes=None).due(10, 0.0)


def test_nan_weights_stop_training_and_are_never_saved(tmp_path):
    trainer = make_trainer(tmp_path, epochs=3, checkpoint_every_steps=1)
    original_step = trainer.train_step

    def step_then_poison():
        loss = original_step()
        if trainer.step == 15:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))
        return loss

    trainer.train_step = step_then_poison
    with pytest.raises(UserError, match="training diverged: the weights are not finite at step 15"):
        trainer.train()
    last = load_checkpoint(tmp_path / "last.pt")
    assert last.trainer["step"] == 14
    assert all(torch.isfinite(t).all() for t in last.model.values())


def test_nan_loss_stops_training_with_a_message(tmp_path):
    trainer = make_trainer(tmp_path, epochs=3, logging_steps=1)
    original_step = trainer.train_step
    trainer.train_step = lambda: original_step() * float("nan") if trainer.step >= 12 else original_step()
    with pytest.raises(UserError, match="training diverged: loss is nan at step 13"):
        trainer.train()
    assert load_checkpoint(tmp_path / "last.pt").trainer["step"] == 11


def test_evaluations_take_a_bounded_share_of_a_timed_run(tmp_path, monkeypatch):
    """A slow evaluation (a loaded machine) is skipped until training has had its share of the time since."""
    trainer = make_trainer(tmp_path, epochs=1000, max_minutes=0.05, eval_interval=1, eval_share=0.25)
    evaluate, spent = trainer.evaluate, []

    def slow_evaluate():
        start = time.perf_counter()
        time.sleep(0.25)
        losses = evaluate()
        spent.append(time.perf_counter() - start)
        return losses

    monkeypatch.setattr(trainer, "evaluate", slow_evaluate)
    trainer.train()
    assert trainer.step > 2 * len(spent)  # without the bound: an evaluation after every step
    assert sum(spent[:-1]) <= 0.35 * trainer.budget.elapsed()  # the final evaluation always runs


@pytest.mark.slow
def test_compile_time_counts_inside_the_time_budget(tmp_path, monkeypatch):
    """torch.compile compiles at the first call; that time is part of --max_minutes, as the user's clock sees it."""

    def slow_compile(model):
        calls = []

        def compiled(*args, **kwargs):
            if not calls:
                time.sleep(3.0)  # compiling
            calls.append(1)
            return model(*args, **kwargs)

        return compiled

    monkeypatch.setattr(torch, "compile", slow_compile)
    trainer = make_trainer(tmp_path, epochs=1000, max_minutes=0.05, compile=True)  # a budget of 3 s
    start = time.perf_counter()
    trainer.train()
    assert time.perf_counter() - start < 5.0  # not 3 s of compiling + 3 s of training


def test_only_the_two_newest_checkpoints_keep_the_optimizer_state(tmp_path):
    trainer = make_trainer(tmp_path, epochs=4, keep_checkpoints=0)
    trainer.train()
    files = {p.name: torch.load(p, weights_only=True) for p in sorted(tmp_path.glob("*.pt"))}
    resumable = sorted(name for name, payload in files.items() if "optimizer" in payload["trainer"])
    assert [n for n in resumable if n.startswith("epoch_")] == ["epoch_003.pt", "epoch_004.pt"]
    assert files["epoch_002.pt"]["trainer"]["step"] == 22  # a summary stays: where it was, how good it was
    best = tmp_path / "best.pt"
    assert ("optimizer" in files["best.pt"]["trainer"]) == any(best.samefile(tmp_path / n) for n in resumable)
    size = {n: (tmp_path / n).stat().st_size for n in files}
    assert size["epoch_002.pt"] < 0.5 * size["epoch_004.pt"]  # the AdamW moments are twice the weights
    slim, _ = model_from_checkpoint(load_checkpoint(tmp_path / "epoch_002.pt"))  # still generates
    assert slim.config == trainer.model.config


def test_warmup_lasts_its_steps_without_a_time_budget():
    """A warmup longer than 5% of the run goes on to its end (the 5% cap is for --max_minutes budgets only)."""
    config = TrainConfig(lr=1.0, warmup_iters=40, schedule="wsd")
    assert lr_factor(config, step=19, progress=0.2, warmup=40) == pytest.approx(0.5)
    assert lr_factor(config, step=19, progress=0.2, warmup=40, budget_used=0.05) == pytest.approx(1.0)


def test_grad_clip_zero_turns_clipping_off(tmp_path):
    """nanoGPT's meaning of 0; before, every gradient was scaled to a norm of 0 and nothing trained."""
    trainer = make_trainer(tmp_path, grad_clip=0.0, weight_decay=0.0, max_iters=3)  # (decay alone moves weights)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train_step()
    assert any(not torch.equal(p, q) for p, q in zip(trainer.model.parameters(), before, strict=True))


def test_epoch_files_are_ordered_by_their_number_past_999(tmp_path):
    """As text epoch_1000.pt sorts before epoch_999.pt: pruning would delete the newest and --resume go back."""
    for n in (998, 1000, 999, 1001):
        (tmp_path / f"epoch_{n:03d}.pt").touch()
    assert [p.name for p in epoch_files(tmp_path)] == [f"epoch_{n}.pt" for n in (998, 999, 1000, 1001)]
    checkpoints = RunCheckpoints(tmp_path, keep=2)
    checkpoints.prune()
    assert sorted(p.name for p in tmp_path.glob("epoch_*.pt")) == ["epoch_1000.pt", "epoch_1001.pt"]


def test_resuming_in_float16_a_run_saved_in_another_precision_starts_a_fresh_scaler():
    """A bfloat16 or float32 run saves an empty GradScaler state; GradScaler.load_state_dict({}) raises, so a
    resume with --dtype float16 on CUDA crashed. (The CPU's GradScaler stands in for CUDA's: the same class.)"""
    model = GPT(GPTConfig(vocab_size=10, context_length=8, n_embd=16, n_head=2, n_layer=1))
    saved = make_optimizer(model, TrainConfig(), torch.device("cpu"), torch.float32).scaler.state_dict()
    assert saved == {}
    fp16 = make_optimizer(model, TrainConfig(), torch.device("cpu"), torch.float32)
    fp16.scaler = torch.amp.GradScaler("cpu", enabled=True)
    with pytest.raises(RuntimeError):
        fp16.scaler.load_state_dict(saved)
    fp16.load_scaler_state(saved)
    assert fp16.scaler.get_scale() == 65536.0


def test_a_stop_inside_an_epoch_is_named_by_its_step_and_share_of_the_epoch(tmp_path, capsys):
    """It used to say "epoch 1: ..., checkpoint" at 46% of an epoch, and "epoch 0 of 2" where progress said epoch 1."""
    trainer = make_trainer(tmp_path, epochs=2, max_iters=5)  # 11 steps an epoch
    trainer.train()
    assert "step 5 (45% of epoch 1 of 2): train loss" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"nothing left to train: the run is at step 5 \(45% of epoch 1 of 2\)"):
        trainer.begin()
    assert position(22, 11, 2) == "epoch 2 of 2"
