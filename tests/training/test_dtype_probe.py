"""--dtype auto on a CPU: the faster dtype is measured for the model and batch, cached, and leaves the RNG alone."""

import json

import torch

from moviegpt.model import GPT, GPTConfig
from moviegpt.training import dtype_probe


def model() -> GPT:
    return GPT(GPTConfig(vocab_size=20, context_length=8, n_embd=16, n_head=2, n_layer=1, dropout=0.0))


def test_the_faster_dtype_is_chosen_and_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(dtype_probe, "bf16_supported", lambda device: True)
    calls = []

    def fake_measure(m, batch_size):
        calls.append(batch_size)
        return {"float32": 0.010, "bfloat16": 0.004} if batch_size == 64 else {"float32": 0.002, "bfloat16": 0.005}

    monkeypatch.setattr(dtype_probe, "measure", fake_measure)
    cache = tmp_path / "dtypes.json"
    assert dtype_probe.fastest_cpu_dtype(model(), 64, cache)[0] == torch.bfloat16
    assert dtype_probe.fastest_cpu_dtype(model(), 4, cache)[0] == torch.float32
    dtype, how, seconds = dtype_probe.fastest_cpu_dtype(model(), 64, cache)  # cached: no third measurement
    assert dtype == torch.bfloat16 and "measured earlier" in how and seconds == 0.0 and calls == [64, 4]
    assert len(json.loads(cache.read_text())) == 2  # one entry per model and batch size


def test_the_probe_really_times_both_and_keeps_the_random_state(tmp_path):
    times = dtype_probe.measure(model(), 2)
    assert set(times) == {"float32", "bfloat16"} and all(0 < t < 5 for t in times.values())
    if dtype_probe.bf16_supported(torch.device("cpu")):
        probed = model()
        before = torch.get_rng_state()
        dtype_probe.fastest_cpu_dtype(probed, 2, tmp_path / "d.json")
        assert torch.equal(torch.get_rng_state(), before)


def test_no_native_bfloat16_means_float32_without_probing(tmp_path, monkeypatch):
    monkeypatch.setattr(dtype_probe, "bf16_supported", lambda device: False)
    monkeypatch.setattr(dtype_probe, "measure", lambda *a: (_ for _ in ()).throw(AssertionError("probed")))
    assert dtype_probe.fastest_cpu_dtype(model(), 2, tmp_path / "d.json")[0] == torch.float32


def test_a_choice_measured_on_one_cpu_is_not_reused_on_another(tmp_path, monkeypatch):
    """One model name ("AMD EPYC") covers CPUs with and without native bfloat16: the cache key holds what the CPU
    offers matrix products, so a CPU of the same name but other capabilities measures again."""
    monkeypatch.setattr(dtype_probe, "bf16_supported", lambda device: True)
    monkeypatch.setattr(dtype_probe, "measure", lambda m, b: {"float32": 0.010, "bfloat16": 0.004})
    monkeypatch.setattr(dtype_probe, "cpu_capability", lambda: "AVX512 (flags avx512_bf16; bfloat16 fast)")
    cache = tmp_path / "dtypes.json"
    assert dtype_probe.fastest_cpu_dtype(model(), 4, cache)[0] == torch.bfloat16
    monkeypatch.setattr(dtype_probe, "cpu_capability", lambda: "AVX2 (flags avx2; bfloat16 fast)")
    monkeypatch.setattr(dtype_probe, "measure", lambda m, b: {"float32": 0.002, "bfloat16": 0.050})
    dtype, how, _ = dtype_probe.fastest_cpu_dtype(model(), 4, cache)
    assert dtype == torch.float32 and "measured earlier" not in how
