"""Training picks the thread count that is fastest now: one thread while another program keeps a core busy, all
of them again when it is quiet (bench/under_load.py measures the real thing)."""

import json

import torch

from moviegpt.model import GPT, GPTConfig
from moviegpt.training.threads import ThreadGovernor, step_seconds
from tests.training.test_trainer import make_trainer


class Machine:
    """Steps and probes that take 1 / speed[threads] seconds on a clock of the test's."""

    def __init__(self, monkeypatch, speed: dict[int, float]):
        self.now, self.threads, self.speed, self.said, self.probes = 0.0, 2, speed, [], 0
        monkeypatch.setattr(torch, "set_num_threads", self.set_threads)
        self.governor = ThreadGovernor(2, self.said.append, self.probe, clock=lambda: self.now)

    def set_threads(self, n: int) -> None:
        self.threads = n

    def probe(self, threads: int) -> float:
        self.probes += 1
        return 1 / self.speed[threads]

    def train(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            seconds = 1 / self.speed[self.threads]
            self.now += seconds
            self.governor.after_step(seconds)


def test_a_quiet_machine_keeps_every_thread(monkeypatch):
    machine = Machine(monkeypatch, {2: 10.0, 1: 6.0})
    machine.train(900)
    assert machine.threads == 2 and not machine.said  # it probed now and then, and changed nothing
    assert 4 <= machine.probes <= 20  # ever less often: at the start, after 30 s, 60 s, 120 s, ...


def test_a_busy_core_moves_training_to_one_thread_and_a_quiet_one_back(monkeypatch):
    machine = Machine(monkeypatch, {2: 10.0, 1: 6.0})
    machine.train(60)
    machine.speed[2] = 0.3  # another program takes one of the two cores: every parallel region waits for it
    machine.train(20)
    assert machine.threads == 1 and "training with 1 thread now" in machine.said[-1]
    machine.speed[2] = 10.0  # the other program is done
    machine.train(120)
    assert machine.threads == 2 and "training with 2 threads now" in machine.said[-1]


def test_a_busy_start_is_noticed_within_seconds(monkeypatch):
    machine = Machine(monkeypatch, {2: 0.2, 1: 6.0})  # busy from the first step: 5 s a step with two threads
    machine.train(12)
    assert machine.threads == 1


def test_the_probe_changes_nothing_of_the_run():
    model = GPT(GPTConfig(vocab_size=10, context_length=8, n_embd=8, n_head=1, n_layer=1, dropout=0.5)).train()
    x = torch.randint(0, 10, (2, 8))
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    assert step_seconds(model, x, 1) > 0
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated


def test_a_fixed_thread_count_turns_the_governor_off_and_its_switches_go_to_the_runs_log(tmp_path, monkeypatch):
    """Exact resume holds at a fixed thread count (a product summed by another number of threads rounds
    otherwise): --threads N fixes it and turns the governor off; where the governor runs, each switch it makes is
    in metrics.jsonl with the new count, so a run that was not exact says why."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    fixed = make_trainer(tmp_path / "fixed", threads=2, max_iters=1)
    fixed.begin()
    assert fixed.threads is None
    governed = make_trainer(tmp_path / "governed", max_iters=1)
    governed.begin()
    assert governed.threads is not None
    governed.threads.say("training with 1 thread now: 10 ms a pass against 30 (another program is busy on a core)")
    governed.logger.close()
    events = [json.loads(line) for line in (tmp_path / "governed" / "metrics.jsonl").read_text().splitlines()]
    assert any(e.get("threads") == 2 and "training with 1 thread" in e.get("note", "") for e in events)


def test_a_tiny_model_under_load_moves_to_one_thread_too(monkeypatch):
    """Passes under 20 ms were never worth a change: a 2-layer model of 32 trained 3x slower on two threads with a
    core busy (2,568 against 8,040 tokens/s). Short passes are timed more often, and a clear gain is taken."""
    machine = Machine(monkeypatch, {2: 1 / 0.015, 1: 1 / 0.005})
    machine.train(20)
    assert machine.threads == 1
    quiet = Machine(monkeypatch, {2: 1 / 0.004, 1: 1 / 0.005})  # quiet: two threads a little faster, kept
    quiet.train(60)
    assert quiet.threads == 2 and not quiet.said
