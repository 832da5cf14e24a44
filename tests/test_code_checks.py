"""The code checks of CI, also in the README's test command: ruff (lint and format) and the import contracts."""

import importlib.util
import shutil
import subprocess

import pytest

from tests.helpers import ROOT


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["lint-imports"]])
def test_code_check_passes(command):
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (pip install -r requirements-test.txt)")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_no_module_is_over_300_lines():
    long = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "moviegpt").rglob("*.py")
        if len(p.read_text(encoding="utf-8").splitlines()) > 300
    ]
    assert not long, f"modules over ~300 lines: {long}"


def test_no_bench_script_shadows_an_installed_package():
    # A script's own folder comes first on sys.path: bench/tokenizers.py once hid Hugging Face's tokenizers from
    # every bench that trained with --tokenizer bpe.
    shadowing = [p.name for p in (ROOT / "bench").glob("*.py") if importlib.util.find_spec(p.stem) is not None]
    assert not shadowing, f"bench scripts named like installed packages: {shadowing}"
