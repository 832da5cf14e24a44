"""Title use: does a model write a movie about the title it is given, and does guidance help?

demo    trains the quick start (fast preset, 3 minutes, dataset/simple_movies.txt; extra flags are passed on), then
        for 40 titles the corpus never had generates a plot without and with guidance and counts the plots that
        name the title's role and its place, beside chance (the role and place of another of the 40 titles).
movies  trains the fast preset on movies.txt for each --minutes (or takes --checkpoint), then on its validation
        split (the last 10%): bits per character, the title measures of --evaluate on every validation movie (with
        95% intervals), and the share of generated plots (--titles validation titles) that use a word of their
        title, without and with guidance, plain and with --best_of K, beside the real plots' share.

Each part also times generation with and without guidance (characters per second, batch 1) and writes its figures
to bench/results/title_<part>.json. Needs a quiet machine: the budgets are wall-clock minutes.
    python bench/title.py demo [--minutes 3] [-- extra gpt.py flags]
    python bench/title.py movies --minutes 3 9 [--data ../shared/data/movies.txt]
    python bench/title.py movies --checkpoint runs/x/last.pt --best_of 8
    python bench/title.py movies --minutes 5 --device cuda -- --device cuda --n_layer 6 --n_embd 384 ...
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "dataset"))

import make_simple_movies as grammar  # noqa: E402
from results_file import write_results  # noqa: E402

from moviegpt.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from moviegpt.cli.main import main as gpt_main  # noqa: E402
from moviegpt.data.dataset import split_point  # noqa: E402
from moviegpt.evaluation import evaluate_text, spread, title_measures  # noqa: E402
from moviegpt.generation.config import GenerationConfig  # noqa: E402
from moviegpt.generation.generate import generate, generate_request  # noqa: E402
from moviegpt.generation.request import default_guidance, title_request  # noqa: E402
from moviegpt.records import RecordFormat, parse_movies, title_words  # noqa: E402
from moviegpt.tokenizer.char import CharTokenizer  # noqa: E402

FMT = RecordFormat()
SHARED = ROOT.parent / "shared" / "data"
README_TITLES = ("The Lonely Miner", "The Pirate of the Lake")  # the README shows what the quick start writes for them


def train(data: Path, minutes: float, out_dir: Path, extra: list[str]) -> dict:
    """The quick start's command on `data`; returns the run's last evaluation."""
    flags = ["--training_data", str(data), "--preset", "fast", "--epochs", "100000", "--max_minutes", str(minutes)]
    flags += ["--wandb", "disabled", "--out_dir", str(out_dir), "--outputs_dir", str(out_dir / "outputs")]
    if gpt_main([*flags, "--prompt", "", "--max_new_tokens", "1", "--disable-typewriter", *extra]) != 0:
        raise SystemExit("training failed")
    events = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    return [e for e in events if "val_loss" in e][-1]


def plots(model, tokenizer, titles: list[str], scale: float, chars: int = 400) -> tuple[list[str], float]:
    """One plot per title (seed i for title i) and the characters generated per second."""
    texts, start, made = [], time.perf_counter(), 0
    for i, title in enumerate(titles):
        config = GenerationConfig(max_new_tokens=chars, stop=[FMT.end], seed=i, guidance_scale=scale)
        prompt = FMT.title_prompt(title)
        (text,) = generate(model, tokenizer, prompt, config, unconditional=FMT.without_title(prompt))
        texts.append(text)
        made += len(text)
    return texts, made / (time.perf_counter() - start)


def names(word: str, text: str) -> bool:
    """Whether the text uses the word in lower case, as a story does ("a shy baker"): saying the title again
    ("The Baker of the Moon is ...") does not count."""
    return re.search(rf"\b{re.escape(word.lower())}\b", text) is not None


def held_out_titles(corpus: str, count: int = 40) -> list[tuple[str, str, str | None]]:
    """(title, role, place or None) for titles of two of the demo grammar's shapes, "The Lonely Miner" and "The
    Pirate of the Lake", that the corpus does not have; each role once."""
    seen = {m.title for m in parse_movies(corpus)}
    found: list[tuple[str, str, str | None]] = []
    combinations = zip(grammar.ROLES * 2, grammar.ADJECTIVES[::-1] * 4, grammar.THINGS * 4)  # a fixed order
    for i, (role, adjective, thing) in enumerate(combinations):
        if i % 2:
            title, place = f"The {adjective.title()} {role.title()}", None
        else:
            title, place = f"The {role.title()} of the {thing.title()}", thing
        if title not in seen and role not in {r for _, r, _ in found}:
            found.append((title, role, place))
        if len(found) == count:
            break
    return found


def demo(args: argparse.Namespace, extra: list[str], work: Path) -> dict:
    data = ROOT / "dataset" / "simple_movies.txt"
    final = train(data, args.minutes, work / "demo", extra)
    checkpoint = load_checkpoint(work / "demo" / "last.pt")
    model, tokenizer = model_from_checkpoint(checkpoint)
    model.eval()
    scale = default_guidance((checkpoint.train_args or {}).get("title_dropout") or 0.0)
    config = GenerationConfig(stop=[FMT.end], guidance_scale=scale)  # what `gpt.py --title T` does by default
    readme = {}
    for title in README_TITLES:
        prompt = FMT.title_prompt(title)
        readme[title] = generate(model, tokenizer, prompt, config, unconditional=FMT.without_title(prompt))[0]
    held = held_out_titles(data.read_text(encoding="utf-8"))
    result = {"steps": final["step"], "val_loss": final["val_loss"], "flags": extra, "titles": len(held), "scales": {}}
    result["readme_samples"] = readme
    for scale in args.scales:
        texts, speed = plots(model, tokenizer, [t for t, _, _ in held], scale)
        other = held[1:] + held[:1]  # chance: another title's role and place
        result["scales"][str(scale)] = {
            "role": sum(names(r, x) for (_, r, _), x in zip(held, texts)) / len(held),
            "place": sum(names(p, x) for (_, _, p), x in zip(held, texts) if p) / sum(1 for *_, p in held if p),
            "role_chance": sum(names(r, x) for (_, r, _), x in zip(other, texts)) / len(held),
            "place_chance": sum(names(p, x) for (_, _, p), x in zip(other[1:] + other[:1], texts) if p)
            / sum(1 for *_, p in held if p),
            "distinct_plots": len(set(texts)),
            "ended": sum(len(x) < 380 for x in texts) / len(texts),  # stopped at END_OF_MOVIE within 400 characters
            "chars_per_s": round(speed),
            "example": FMT.title_prompt(held[0][0]) + texts[0],
        }
    return result


def repeats_title(title: str, plot: str) -> bool:
    """Whether a plot uses a word of its title (names and places are capitalised: any case counts)."""
    return any(re.search(rf"\b{re.escape(w)}\b", plot.lower()) for w in title_words(title))


def best_of_shares(model, tokenizer, sample: list, k: int, scale: float) -> dict:
    """best_of k for each title: the share of chosen plots that use a title word when the score is the bits saved
    per plot (what --best_of does) and per character, beside the share among all candidates; time per result."""
    chosen = {"per_plot": 0, "per_char": 0, "any_candidate": 0, "all_candidates": 0}
    start = time.perf_counter()
    for i, movie in enumerate(sample):
        config = GenerationConfig(max_new_tokens=400, stop=[FMT.end], seed=i, guidance_scale=scale, best_of=k)
        (result,) = generate_request(model, tokenizer, title_request(config, FMT, title=movie.title))
        copies = [repeats_title(movie.title, c.text) for c in result.candidates]
        per_char = max(result.candidates, key=lambda c: c.bits / max(len(c.text), 1))
        chosen["per_plot"] += repeats_title(movie.title, result.text)
        chosen["per_char"] += repeats_title(movie.title, per_char.text)
        chosen["any_candidate"] += any(copies)
        chosen["all_candidates"] += sum(copies) / len(copies)
    seconds = (time.perf_counter() - start) / len(sample)
    return {**{key: value / len(sample) for key, value in chosen.items()}, "seconds_per_result": round(seconds, 2)}


def measure(path: Path, val: str, val_movies: list, sample: list, args: argparse.Namespace) -> dict:
    """A checkpoint's validation bits per character, title measures on every validation movie, title-word use."""
    checkpoint = load_checkpoint(path)
    model, tok = model_from_checkpoint(checkpoint)
    device = torch.device(args.device)
    model.to(device).eval()
    exact = evaluate_text(model, tok, val, None, device)
    start = time.perf_counter()
    measures = title_measures(model, tok, val_movies, FMT, device)
    run = {"val_bits_per_char": exact.bits_per_character, "title": measures.to_dict()}
    run["title_measure_seconds"] = round(time.perf_counter() - start)
    for scale in args.scales:
        texts, speed = plots(model, tok, [m.title for m in sample], scale)
        share = sum(repeats_title(m.title, x) for m, x in zip(sample, texts)) / len(sample)
        run[f"guidance_{scale:g}"] = {"plots_repeating_a_title_word": share, "chars_per_s": round(speed)}
        for k in args.best_of:
            run[f"guidance_{scale:g}"][f"best_of_{k}"] = best_of_shares(model, tok, sample, k, scale)
    return run


def movies(args: argparse.Namespace, extra: list[str], work: Path) -> dict:
    text = args.data.read_text(encoding="utf-8")
    tokenizer = CharTokenizer(text)
    val = text[split_point(tokenizer.encode_array(text), tokenizer) :]
    val_movies = parse_movies(val)
    sample = spread([m for m in val_movies if title_words(m.title)], args.titles)
    real = sum(repeats_title(m.title, m.description) for m in sample) / len(sample)
    result = {"val_movies": len(val_movies), "real_plots_repeating_a_title_word": real, "runs": {}}
    if args.checkpoint:
        result["runs"][args.checkpoint.name] = run = measure(args.checkpoint, val, val_movies, sample, args)
        print(json.dumps(run), flush=True)
    for minutes in [] if args.checkpoint else args.minutes_list:
        final = train(args.data, minutes, work / f"movies{minutes:g}", extra)
        run = measure(work / f"movies{minutes:g}" / "last.pt", val, val_movies, sample, args)
        result["runs"][f"{minutes:g}"] = {"steps": final["step"], "flags": extra, **run}
        print(json.dumps(result["runs"][f"{minutes:g}"]), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["demo", "movies"])
    parser.add_argument(
        "--minutes", type=float, nargs="+", default=None, help="training minutes (demo: 3; movies: 3 9)"
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0], help="guidance scales (1 is off)")
    parser.add_argument("--data", type=Path, default=SHARED / "movies.txt")
    parser.add_argument("--name", default="", help="a suffix for the results file (an ablation row)")
    parser.add_argument("--keep", type=Path, help="keep the run folders (checkpoints, metrics, loss.png) here")
    parser.add_argument("--checkpoint", type=Path, help="movies: measure this checkpoint instead of training")
    parser.add_argument("--titles", type=int, default=100, help="movies: validation titles to generate plots for")
    parser.add_argument("--best_of", type=int, nargs="*", default=[8], help="movies: best_of K to measure")
    parser.add_argument("--device", default="cpu", help="movies: measure on this device (float32 weights)")
    args, extra = parser.parse_known_args()
    extra = [x for x in extra if x != "--"]
    args.minutes_list = args.minutes or ([3.0] if args.part == "demo" else [3.0, 9.0])
    args.minutes = args.minutes_list[0]
    if args.part == "movies" and not args.data.exists():
        print(f"skipping: {args.data} not found (the shared corpora live in ../shared/data)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = (demo if args.part == "demo" else movies)(args, extra, args.keep or Path(tmp))
    result = write_results(f"title_{args.part}{'_' + args.name if args.name else ''}", result)
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
