"""The README and docs/: short, linked, generated where they show flags or figures, and free of lab-notebook
leftovers (dates outside the line above a results table, sessions, a ../shared folder users do not have)."""

import os
import re
import subprocess
import sys

from tests.helpers import ROOT, gpt_env

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
STAMP = re.compile(r"^Measured on .*\d{4}-\d{2}-\d{2}")  # the one line above a results table that may hold a date


def test_the_readme_is_short_and_starts_with_the_quick_start():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    assert any(line == "## Quick start" for line in lines[:40])  # on the first screen


def test_every_docs_page_is_linked_from_the_readme():
    readme = README.read_text(encoding="utf-8")
    assert {"flags.md", "recipes.md", "tokenizers.md", "checkpoints-and-resume.md", "errors.md", "results.md",
            "design.md", "decisions.md", "web-and-posters.md", "distributed.md"} <= {p.name for p in DOCS}  # fmt: skip
    assert [p.name for p in DOCS if f"docs/{p.name}" not in readme] == []
    assert (ROOT / "CHANGELOG.md").exists() and (ROOT / "LICENSE").exists()


def test_no_page_names_a_session_a_shared_folder_or_a_date_outside_a_results_stamp():
    for page in [README, *DOCS]:
        for line in page.read_text(encoding="utf-8").splitlines():
            assert "../shared" not in line and not re.search(r"\bsessions? \d", line.lower()), (page.name, line)
            if re.search(r"\b20\d\d-\d\d-\d\d\b", line) and "outputs/output_" not in line:
                assert STAMP.match(line), (page.name, line)


def test_generated_pages_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "generate.py"), "--check"], capture_output=True,
                            text=True, env=gpt_env())  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_flags_page_is_what_help_prints():
    page = (ROOT / "docs" / "flags.md").read_text(encoding="utf-8")
    for script in ("gpt.py", "simple_bigram.py"):
        env = {**gpt_env(), "COLUMNS": "100"}
        shown = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True,
                               env=env, cwd=os.getcwd()).stdout  # fmt: skip
        assert shown.rstrip() in page, script
