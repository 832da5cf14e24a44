"""Make the generated parts of the docs: docs/flags.md from the parser, and every results table of the README and
docs/results.md from the figures the bench scripts wrote to bench/results/*.json (between <!-- results: NAME -->
and <!-- /results --> markers, with the machine, torch version and date in one line above each table).

    python docs/generate.py           # write them
    python docs/generate.py --check   # exit 1 when a page differs from what would be written (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moviegpt.cli.arguments import build_parser  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PAGES = [ROOT / "README.md", ROOT / "docs" / "results.md"]
WIDTH = 100  # of --help on the page (the test runs --help with COLUMNS=100)
MARKED = re.compile(r"(<!-- results: (\w+) -->\n).*?(<!-- /results -->)", re.S)


def flags_page() -> str:
    """Every flag of gpt.py and simple_bigram.py, as their --help prints them."""
    sections = []
    for script, kind in (("gpt.py", "gpt"), ("simple_bigram.py", "bigram")):
        parser = build_parser(kind)
        parser.prog = script
        parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH - 2)  # as argparse does
        sections.append(f"## python {script} --help\n\n```\n{parser.format_help().rstrip()}\n```\n")
    intro = (
        "# Every flag\n\nMade from the parser by `python docs/generate.py`; a test fails when this page differs "
        "from `--help`. Each setting is declared once, beside the config it belongs to (see [design.md](design.md)).\n"
    )
    return intro + "\n" + "\n".join(sections)


def stamp(result: dict) -> str:
    return f"Measured on {result['machine']}, {result['date']}, with `{result['command']}`.\n\n"


def percent(x: float) -> str:
    return f"{x:.1%}"


def table(columns: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


TITLE_COLUMNS = ["steps", "validation bits/char", "bits the title saves", "right title wins", "true title among 10",
                 "plots repeating a title word (guidance 1 / 2)"]  # fmt: skip


def title_cells(run: dict) -> list[str]:
    """A run's title measures on real movies, as TITLE_COLUMNS."""
    t, repeats = run["title"], [run[f"guidance_{g}"]["plots_repeating_a_title_word"] for g in (1, 2)]
    return [f"{run['steps']:,}", f"{run['val_bits_per_char']:.4f}", f"{t['bits_saved']:.2f}", percent(t["win_rate"]),
            percent(t["retrieval"]), f"{percent(repeats[0])} / {percent(repeats[1])}"]  # fmt: skip


def title_demo(result: dict) -> str:
    columns = ["guidance scale", "plots naming the title's role", "chance", "naming its place", "chance",
               "plots that end", "chars/s"]  # fmt: skip
    rows = [[scale, percent(r["role"]), percent(r["role_chance"]), percent(r["place"]), percent(r["place_chance"]),
             percent(r["ended"]), f"{r['chars_per_s']:,}"] for scale, r in result["scales"].items()]  # fmt: skip
    head = (
        f"{result['titles']} titles the corpus never had; the model trained {result['steps']:,} steps (3 minutes).\n\n"
    )
    return stamp(result) + head + table(columns, rows)


ABLATION = {  # results file -> what the row changed (the corpus of the time in the row, see docs/results.md)
    "title_demo_baseline.json": "the fast preset of before: windows anywhere, 2 heads",
    "title_demo_records_heads4.json": "windows at movies, 4 heads",
    "title_demo_records_heads4_smear.json": "windows at movies, 4 heads, smear",
    "title_demo_records_heads4_batch4.json": "windows at movies, 4 heads, batch 4 (more steps)",
    "title_demo_echo_fast.json": "the fast preset of before: windows anywhere, 2 heads",
    "title_demo_echo_records_heads4.json": "windows at movies, 4 heads",
    "title_demo_echo_records_heads4_dropout.json": "windows at movies, 4 heads, title dropout 0.1",
    "title_demo_mixed.json": "half the windows at movies, 4 heads, title dropout 0.1",
    "title_demo_mixed75.json": "3 windows in 4 at movies, 4 heads, title dropout 0.1",
    "title_demo_fast.json": "3 windows in 4 at movies, 4 heads, title dropout 0.1, key offset",
    "title_demo_copy_path.json": "the same and the copy path (the fast preset)",
    "title_demo_copy_path_seed1.json": "the fast preset, a second seed (--seed 1)",
}


def title_ablation(results: list[dict]) -> str:
    columns = ["plots say their title first", "change", "steps", "role named", "chance", "place named",
               "plots that end", "role, guidance 2"]  # fmt: skip
    rows = []
    for result in results:
        plain, guided = result["scales"]["1.0"], result["scales"].get("2.0", {})
        said = "yes" if result.get("corpus", "now") == "now" else "no (before)"
        rows.append([said, result["change"], f"{result['steps']:,}", percent(plain["role"]),
                     percent(plain["role_chance"]), percent(plain["place"]),
                     percent(plain["ended"]) if "ended" in plain else "-",
                     percent(guided["role"]) if guided else "-"])  # fmt: skip
    commands = "; ".join(f"`{r['command']}`" for r in results if r.get("corpus", "now") == "now")
    note = (
        f"Measured on {results[0]['machine']}, {results[0]['date']}. The rows of the corpus of now: {commands}. The "
        "rows before ran the same way on the demo corpus as it was before it said its titles (git history).\n\n"
    )
    return note + table(columns, rows)


def title_movies(result: dict) -> str:
    rows = [[minutes, *title_cells(run)] for minutes, run in result["runs"].items()]
    real = percent(result["real_plots_repeating_a_title_word"])
    tail = f"\nThe real plots of those titles repeat a title word in {real} of cases.\n"
    return stamp(result) + table(["minutes", *TITLE_COLUMNS], rows) + tail


def under_load(result: dict) -> str:
    busy = "one core busy with another program"
    rows = [["quiet", "default", f"{result['quiet_default_tokens_per_s']:,}"],
            [busy, "default", f"{result['loaded_default_tokens_per_s']:,}"],
            [busy, "OMP_NUM_THREADS=1", f"{result['loaded_one_thread_tokens_per_s']:,}"]]  # fmt: skip
    return stamp(result) + table(["machine state", "threads", "tokens/s"], rows)


def readme_samples(result: dict) -> str:
    """What the quick start's model wrote for the README's two titles."""
    movies = [
        f"The description of the movie named '{title}' is:\n{text}" for title, text in result["readme_samples"].items()
    ]
    return "```\n" + "\n\n".join(movies) + "\n```\n"


GLANCE = {  # results file -> the recipe of its rows (the fast preset's sizes: 3 x 128, batch 8 x 256)
    "title_movies.json": "the fast preset without the copy path",
    "title_movies_before.json": "the fast preset before (windows anywhere, 2 heads)",
    "title_movies_nanogpt.json": (
        "nanoGPT's recipe at the same sizes (learned positions, LayerNorm, GELU, AdamW, cosine)"
    ),
}


def glance(results: list[dict]) -> str:
    """Quality per CPU minute, training and generation speed, per recipe, on the real movies."""
    columns = ["recipe", "minutes", "validation bits/char", "training tokens/s", "generation chars/s"]
    rows = [[result["recipe"], minutes, f"{run['val_bits_per_char']:.3f}",
             f"{run['steps'] * 8 * 256 / (float(minutes) * 60):,.0f}", f"{run['guidance_1']['chars_per_s']:,}"]
            for result in results for minutes, run in result["runs"].items()]  # fmt: skip
    note = (
        f"Measured on {results[0]['machine']}, {results[0]['date']}, with `python bench/title.py movies` (flags for "
        "the other recipes in docs/results.md); 25,583 movie descriptions, bits per character of the last 10%; "
        "training tokens/s = steps x 2,048 / seconds (evaluations included); generation: batch 1, no guidance.\n\n"
    )
    return note + table(columns, rows)


MOVIES_ABLATION = {  # results file -> what its 9-minute run changed
    "title_movies_before.json": "the fast preset of before: windows anywhere, 2 heads, no title dropout",
    "title_movies_mixed75.json": "3 windows in 4 at movies, 4 heads, title dropout 0.1",
    "title_movies_key_offset.json": "the same and the key offset",
    "title_movies.json": "the same again (the fast preset's own run)",
    "title_movies_plot_weight.json": "the fast preset with the plot's loss weighted 3x (--plot_weight 3)",
}


def movies_ablation(results: list[dict]) -> str:
    """The title measures of each 9-minute run on the real movies."""
    rows = [[result["change"], *title_cells(result["runs"]["9"])] for result in results]
    commands = "; ".join(f"`{r['command']}`" for r in results)
    stamp_line = f"Measured on {results[0]['machine']}, {results[0]['date']}, with {commands}.\n\n"
    return stamp_line + table(["change", *TITLE_COLUMNS], rows)


MOVIES_POWER = {  # results file -> what its 9-minute run changed (every validation movie, with 95% intervals)
    "title_movies_m9_best_of.json": "the fast preset (its checkpoint measured again)",
    "title_movies_m9_seed1.json": "the fast preset, a second seed (--seed 1)",
    "title_movies_m9_copy_weight5.json": "the fast preset, plot words of the title weighted 5x (--copy_weight 5)",
    "title_movies_m9_pseudo_titles25.json": (
        "the fast preset, a name from its plot as the title of 1 record in 4 (--pseudo_titles 0.25)"
    ),
}

MOVIES_POWER_NATIVE = {  # the same measures on a CPU with native bfloat16 (about 4,500 steps in 9 minutes)
    "title_movies_d4_fast.json": "the fast preset without the copy path (as it was)",
    "title_movies_d4_fast_again.json": "the same command again",
    "title_movies_d4_copy_path.json": "with the copy path (--copy_path, the fast preset now)",
    "title_movies_d4_copy_path_seed1.json": "with the copy path, a second seed (--seed 1)",
    "title_movies_d4_context512.json": "with the copy path and a context of 512 (--context_length 512)",
    "title_movies_d4_bpe.json": "with the copy path and byte-level BPE of 2,048 tokens (--tokenizer bpe)",
    "title_movies_d4_bpe_seed1.json": "the same, a second seed (--tokenizer bpe --seed 1)",
    "title_movies_d4_layers4.json": "with the copy path and 4 layers (--n_layer 4)",
    "title_movies_d4_width192.json": "with the copy path, 192 wide with 6 heads (--n_embd 192 --n_head 6)",
    "title_movies_d4_width192_seed1.json": "the same, a second seed (--n_embd 192 --n_head 6 --seed 1)",
}


def interval(value: float, half: float, as_percent: bool) -> str:
    return f"{value:.1%} ± {half * 100:.1f}" if as_percent else f"{value:.2f} ± {half:.2f}"


POWER_COLUMNS = ["change", "steps", "validation bits/char", "bits the title saves", "right title wins",
                 "true title among 10", "plots repeating a title word: sampled / best of 8",
                 "s per plot (best of 8)"]  # fmt: skip


def power_row(result: dict) -> list[str]:
    """A run's title measures over every validation movie (95% intervals) and best_of 8, as POWER_COLUMNS."""
    run = next(iter(result["runs"].values()))
    t, guided = run["title"], run["guidance_2"]
    best = guided["best_of_8"]
    return [result["change"], f"{run['steps']:,}" if "steps" in run else "-", f"{run['val_bits_per_char']:.4f}",
            interval(t["bits_saved"], t["bits_saved_interval"], False),
            interval(t["win_rate"], t["win_rate_interval"], True),
            interval(t["retrieval"], t["retrieval_interval"], True),
            f"{percent(guided['plots_repeating_a_title_word'])} / {percent(best['per_plot'])}",
            f"{best['seconds_per_result']:.2f}"]  # fmt: skip


def movies_power(results: list[dict]) -> str:
    """The title measures over every validation movie, with 95% intervals, and best_of 8 among generated plots."""
    commands = "; ".join(f"`{r['command']}`" for r in results)
    first = results[0]
    note = (
        f"Measured on {first['machine']}, {' and '.join(sorted({r['date'] for r in results}))}, with {commands}. "
        f"All {first['val_movies']:,} validation "
        "movies; guidance 2 for the generated plots (100 validation titles). The real plots of those titles repeat "
        f"a title word in {percent(first['real_plots_repeating_a_title_word'])} of cases.\n\n"
    )
    return note + table(POWER_COLUMNS, [power_row(r) for r in results])


def gpu_title(results: list[dict]) -> str:
    """The title probe at scale on a GPU beside the CPU fast preset's runs, each with its machine and command."""
    machines = {r["machine"]: [x for x in results if x["machine"] == r["machine"]] for r in results}
    parts = [f"{m}, {rs[0]['date']}, with " + " and ".join(f"`{r['command']}`" for r in rs) + f" ({rs[0]['change']}"
             + (" and the next row" if len(rs) > 1 else "") + ")" for m, rs in machines.items()]  # fmt: skip
    return "Measured on " + "; on ".join(parts) + ".\n\n" + table(POWER_COLUMNS, [power_row(r) for r in results])


def gpu_speed(result: dict) -> str:
    columns = ["GPU", "model", "training tokens/s", "MFU (bf16 peak)", "generation chars/s: 1 row / 16 rows"]
    chars = result["generation_chars_per_s"]
    row = [result["gpu"], f"the original preset, {result['parameters'] / 1e6:.0f}M parameters, bfloat16, compiled",
           f"{result['train_tokens_per_s']:,}", f"{result['mfu']:.1%} of {result['peak_tflops']:g} TFLOP/s",
           f"{chars['1']:,} / {chars['16']:,}"]  # fmt: skip
    return stamp(result) + table(columns, [row])


def cpu_speed(results: list[dict]) -> str:
    """bench/cpu_speed.py on this CPU as it is and made to act as an AVX2-only one, at two threads and one, and on a
    real AVX2-only CPU (the machine of a later session)."""
    first = results[0]
    rounds = " or ".join(sorted({str(len(r["rows"][0]["rounds"])) for r in results}))
    dates = " and ".join(sorted({r["date"] for r in results}))
    lines = [
        f"Measured on {first['machine']}, {dates}; the median of {rounds} interleaved rounds of "
        f"{first['steps']} training steps per recipe; generation: batch 1, 300 characters, no guidance.\n"
    ]
    rows = []
    for result in results:
        base = result["rows"][-1]
        for row in result["rows"]:
            rows.append([result["label"], f"{result['threads']}", row["recipe"], row["dtype"],
                         f"{row['tokens_per_s']:,.0f} ({row['tokens_per_s'] / base['tokens_per_s']:.2f}x)",
                         f"{row['chars_per_s']:,.0f} ({row['chars_per_s'] / base['chars_per_s']:.2f}x)"])  # fmt: skip
    columns = ["CPU", "threads", "recipe", "dtype (auto)", "training tokens/s (vs nanoGPT)", "generation chars/s"]
    lines += [f"- {r['label']}: {r['cpu']}, with `{r['command']}`" for r in results]
    quick = [f"{r['label']}: {r['quickstart_steps']:,} steps" for r in results if "quickstart_steps" in r]
    note = f"\nThe README's quick start in its 3 minutes: {'; '.join(quick)}.\n" if quick else ""
    return "\n".join(lines) + "\n\n" + table(columns, rows) + note


CPU_SPEED = {
    "cpu_speed_native_copy.json": "as it is (AVX-512 with native bfloat16)",
    "cpu_speed_avx2_copy.json": "acting as AVX2-only (no native bfloat16)",
    "cpu_speed_native.json": "as it is, before the copy path joined the preset",
    "cpu_speed_avx2.json": "acting as AVX2-only, before the copy path",
    "cpu_speed_avx2_1thread.json": "acting as AVX2-only, one thread, before the copy path",
    "cpu_speed_avx2_native.json": "a real AVX2-only CPU (a slower EPYC core), before the copy path",
}


def gpu_glance(results: list[dict]) -> str:
    """The README's GPU line: the original preset's speed and the title probe's measures."""
    speed, probe = results
    run = next(iter(probe["runs"].values()))
    t = run["title"]
    return (
        f"on an {speed['gpu']} the original preset trains {speed['train_tokens_per_s']:,} tokens/s "
        f"({speed['mfu']:.0%} MFU); the fast preset's recipe at {GPU_TITLE[GPU_PROBE]} "
        f"reaches {run['val_bits_per_char']:.3f} bits/char, and the right title wins {percent(t['win_rate'])} of "
        f"pairs, saves {t['bits_saved']:.1f} bits per movie and is first among 10 for {percent(t['retrieval'])}.\n"
    )


GPU_PROBE = "title_movies_gpu_probe.json"

GPU_TITLE = {
    "title_movies_d4_copy_path.json": "the fast preset, 9 CPU minutes, 0.65M parameters",
    "title_movies_d4_copy_path_seed1.json": "the same, a second seed",
    GPU_PROBE: "6 layers of 384, context 512, 5 GPU minutes, 11.0M parameters",
}

GPU_GLANCE = {"gpu_speed.json": "speed", GPU_PROBE: "probe"}

MULTI: dict[str, tuple[dict[str, str], Callable[[list[dict]], str], str]] = {  # marker -> (files, renderer, key)
    "title_ablation": (ABLATION, title_ablation, "change"),
    "title_movies_ablation": (MOVIES_ABLATION, movies_ablation, "change"),
    "title_movies_power": (MOVIES_POWER, movies_power, "change"),
    "title_movies_power_native": (MOVIES_POWER_NATIVE, movies_power, "change"),
    "glance": (GLANCE, glance, "recipe"),
    "cpu_speed": (CPU_SPEED, cpu_speed, "label"),
    "gpu_title": (GPU_TITLE, gpu_title, "change"),
    "gpu_glance": (GPU_GLANCE, gpu_glance, "part"),
}

RENDERERS: dict[str, tuple[str, Callable[[dict], str]]] = {  # marker name -> (results file, renderer)
    "readme_samples": ("title_demo_copy_path.json", readme_samples),
    "title_demo": ("title_demo_copy_path.json", title_demo),
    "title_demo_avx2": ("title_demo_avx2.json", title_demo),
    "title_movies": ("title_movies.json", title_movies),
    "under_load": ("under_load.json", under_load),
    "gpu_speed": ("gpu_speed.json", gpu_speed),
}


def load(file: str) -> dict:
    return json.loads((RESULTS / file).read_text(encoding="utf-8"))


def render(text: str) -> str:
    def table(match: re.Match) -> str:
        name = match.group(2)
        if name in MULTI:
            files, multi, key = MULTI[name]
            return match.group(1) + multi([{**load(f), key: label} for f, label in files.items()]) + match.group(3)
        file, renderer = RENDERERS[name]
        return match.group(1) + renderer(load(file)) + match.group(3)

    return MARKED.sub(table, text)


def expected() -> dict[Path, str]:
    pages = {ROOT / "docs" / "flags.md": flags_page()}
    pages.update({page: render(page.read_text(encoding="utf-8")) for page in PAGES if page.exists()})
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report pages that differ instead of writing them")
    args = parser.parse_args()
    stale = []
    for path, text in expected().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date (run python docs/generate.py): {', '.join(map(str, stale))}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
