"""The flags of gpt.py and simple_bigram.py: the parser, its number types, presets filled in."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from moviegpt.cli.paths import DEFAULT_TRAINING_DATA
from moviegpt.training.presets import BIGRAM_DEFAULTS, PRESETS, apply_preset


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag in one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def _number(kind: type, minimum: float, inclusive: bool = True):
    """An argparse type for ints/floats bounded below."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {'>=' if inclusive else '>'} {minimum}, got {text}")
        return value

    return parse


positive_int = _number(int, 1)
non_negative_int = _number(int, 0)
positive_float = _number(float, 0.0, inclusive=False)
non_negative_float = _number(float, 0.0)


SCRIPTS = {"gpt": "gpt.py", "bigram": "simple_bigram.py"}  # the command of each kind of model
GPT_ONLY_FLAGS = (
    "--preset",
    "--n_embd",
    "--n_head",
    "--n_layer",
    "--dropout",
    "--position",
    "--norm",
    "--qk_norm",
    "--activation",
    "--zero_init",
    "--tie_weights",
    "--logit_softcap",
    "--bigram_logits",
)
ON_OFF = argparse.BooleanOptionalAction
# The recipe: architecture options and optimizer (the preset's unless given; see training/presets.py).
RECIPE_FLAGS: dict[str, dict] = {
    "--position": {"choices": ["learned", "rope"], "help": "learned position embeddings, or rotary (rope)"},
    "--norm": {"choices": ["layernorm", "rmsnorm"], "help": "normalisation layers"},
    "--qk_norm": {"action": ON_OFF, "help": "RMS-normalise queries and keys per head"},
    "--activation": {"choices": ["gelu", "relu", "relu2"], "help": "MLP nonlinearity (relu2: ReLU squared)"},
    "--zero_init": {"action": ON_OFF, "help": "residual projections (and an untied head) start at zero"},
    "--tie_weights": {"action": ON_OFF, "help": "the output head shares the token embedding"},
    "--logit_softcap": {"type": non_negative_float, "help": "> 0: logits = cap * tanh(logits / cap); 0 is off"},
    "--bigram_logits": {"action": ON_OFF, "help": "add a learned table of next-token logits from the current one"},
    "--optimizer": {
        "choices": ["adamw", "muon"],
        "help": "adamw, or muon (Muon on hidden matrices, AdamW on the rest)",
    },
    "--muon_lr": {"type": positive_float, "help": "Muon's peak learning rate"},
    "--schedule": {"choices": ["cosine", "wsd"], "help": "cosine decay, or warmup-stable-decay (wsd)"},
    "--cooldown_frac": {"type": positive_float, "help": "wsd: the last fraction of the run spent decaying, in (0, 1]"},
}


def build_parser(model: str = "gpt") -> argparse.ArgumentParser:
    """The flags of gpt.py (model "gpt") or of simple_bigram.py (model "bigram": no transformer sizes)."""
    what = "a character-level GPT" if model == "gpt" else "the bigram baseline"
    p = OneLineParser(description=f"Train {what} on text, or generate from / evaluate a checkpoint.")

    def a(*names: str, **kwargs) -> None:
        if model == "gpt" or names[0] not in GPT_ONLY_FLAGS:
            p.add_argument(*names, **kwargs)

    a(
        "--checkpoint",
        help="generate from this checkpoint (a file, http(s) URL, Google Drive link or file id); "
        "for one of the original MovieGPT, add --training_data with its training text",
    )
    a(
        "--training_data",
        nargs="+",
        metavar="SOURCE",
        help=f"UTF-8 text to train on: files, folders of .txt, globs or http(s) URLs "
        f"(default {DEFAULT_TRAINING_DATA}, else the shipped sample)",
    )
    a(
        "--tokenizer",
        choices=["char", "word", "bpe"],
        default="char",
        help="char (one token per character), word (words and punctuation, rare ones <unk>) or bpe (byte-level) (char)",
    )
    a("--vocab_size", type=positive_int, default=2048, help="--tokenizer bpe: vocabulary size (2048)")
    a("--min_freq", type=positive_int, default=2, help="--tokenizer word: words seen fewer times become <unk> (2)")
    a(
        "--cache_dir",
        default=None,
        help="where token caches and downloads go (default $MOVIEGPT_CACHE_DIR, else ~/.cache/moviegpt)",
    )
    a(
        "--preset",
        choices=sorted(PRESETS),
        default="original",
        help="model/batch sizes: original (the original's defaults), fast (minutes on a CPU), tiny (smoke test)",
    )
    a("--batch_size", type=positive_int, help="sequences per training step (original: 128)")
    a("--context_length", type=positive_int, help="characters the model sees at once (original: 256)")
    a("--eval_iters", type=positive_int, help="batches per split in each evaluation (original: 100)")
    a(
        "--eval_interval",
        type=positive_int,
        help="steps between evaluations (default: four per epoch, at least 4 * eval_iters apart)",
    )
    a("--lr", type=positive_float, help="peak learning rate (original: 2.5e-4)")
    a("--n_embd", type=positive_int, help="embedding width (original: 768)")
    a("--n_head", type=positive_int, help="attention heads; must divide n_embd (original: 8)")
    a("--n_layer", type=positive_int, help="transformer blocks (original: 8)")
    a("--dropout", type=non_negative_float, help="dropout probability in [0, 1) (original: 0.3)")
    for flag, options in RECIPE_FLAGS.items():
        a(flag, **options, default=None)
    a("--epochs", type=positive_int, help="passes over the data; one = len(train) // (batch * context) steps (5)")
    a("--max_iters", type=positive_int, help="stop after this many steps (still evaluates and checkpoints)")
    a("--max_minutes", type=positive_float, help="stop after this many minutes (still evaluates and checkpoints)")
    a(
        "--grad_accum",
        type=positive_int,
        default=1,
        help="micro-batches of --batch_size per optimizer step, for larger effective batches (1)",
    )
    a(
        "--dist_timeout_minutes",
        type=positive_float,
        default=10.0,
        help="under torchrun: how long a rank waits for the others before the job fails instead of hanging (10)",
    )
    a(
        "--compile",
        action=ON_OFF,
        default=None,
        help="torch.compile the model (default: on CUDA, off on a CPU where it measured no faster; falls back to "
        "eager with a warning)",
    )
    a("--logging_steps", type=positive_int, default=50, help="steps between train-loss logs (50)")
    a(
        "--keep_checkpoints",
        type=non_negative_int,
        default=3,
        help="newest epoch checkpoints kept, besides best.pt and last.pt; 0 keeps all (3)",
    )
    a(
        "--checkpoint_every_minutes",
        type=positive_float,
        help="also checkpoint mid-epoch this often, so a long epoch is never lost (off)",
    )
    a("--checkpoint_every_steps", type=positive_int, help="also checkpoint mid-epoch every this many steps (off)")
    a("--out_dir", help="folder for this run's checkpoints and metrics.jsonl (default runs/<timestamp>)")
    a(
        "--resume",
        metavar="PATH",
        help="continue a run exactly: a checkpoint (file, URL, Drive link or id) or a run folder (its newest good one)",
    )
    a(
        "--init_from",
        metavar="CHECKPOINT",
        help="fine-tune: a new run starting from this checkpoint's weights and vocabulary, on --training_data",
    )
    a("--sha256", help="refuse a --checkpoint/--resume file whose SHA-256 is not this hex digest")
    a("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    a(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16", "float16"],
        help="autocast precision; auto = bfloat16 where supported, float16 on older GPUs, else float32",
    )
    a(
        "--wandb",
        choices=["online", "offline", "disabled"],
        help="wandb mode (default online when an API key is configured, else offline)",
    )
    a("--wandb_project", default="moviegpt", help="wandb project name (moviegpt)")
    a("--seed", type=int, default=7331, help="random seed for initialisation, batches and sampling (7331)")
    a("--prompt", help="text to continue; asked for when stdin is a terminal; empty = a new record")
    a("--title", help="generate the description of a movie with this title (builds the training template)")
    a("--interactive", action="store_true", help="a `>> ` prompt loop: prompts, :title <name>, :set <name> <value>")
    a("--max_new_tokens", type=positive_int, default=500, help="limit on generated characters, >= 1 (500)")
    a(
        "--decode",
        choices=["sample", "greedy", "beam"],
        default="sample",
        help="sample (temperature/top-k/top-p), greedy (most likely), beam (beam search) (sample)",
    )
    a("--temperature", type=positive_float, default=1.0, help="sampling temperature > 0 (1.0)")
    a("--top_k", type=positive_int, help="sample only from the k most likely characters (off)")
    a(
        "--top_p",
        type=_number(float, 0.0, inclusive=False),
        help="nucleus sampling: the smallest set of characters whose probability reaches p, in (0, 1] (off)",
    )
    a("--repetition_penalty", type=positive_float, default=1.0, help="> 1 discourages repeating characters (1.0)")
    a("--num_beams", type=positive_int, default=4, help="beams for --decode beam (4)")
    a(
        "--num_samples",
        type=positive_int,
        default=1,
        help="samples generated together in one batch, each stopping on its own (1)",
    )
    a(
        "--stop",
        action="append",
        metavar="STRING",
        help="stop a sample at this string (repeatable; default END_OF_MOVIE for movie-format models)",
    )
    a("--no_stop", action="store_true", help="never stop early: always generate --max_new_tokens")
    a(
        "--disable-typewriter",
        dest="typewriter",
        action="store_false",
        help="print the generation once at the end instead of character by character",
    )
    a("--outputs_dir", default="outputs", help="folder for generated text files (outputs)")
    a("--serve", action="store_true", help="with --checkpoint: a local web page to generate movies and posters")
    a(
        "--host",
        default="127.0.0.1",
        help="--serve: address to listen on; anything but 127.0.0.1 exposes the page to the network (127.0.0.1)",
    )
    a("--port", type=_number(int, 0), default=7860, help="--serve: port (7860; 0 picks a free one)")
    a(
        "--poster",
        action="store_true",
        help="also draw each generated movie as a poster PNG in --posters_dir (named after the title)",
    )
    a("--poster_from", metavar="FILE", help="draw posters for the movies in a text file already generated")
    a("--posters_dir", default="posters", help="folder for posters (posters)")
    a(
        "--convert",
        metavar="OUT",
        help="with --checkpoint: save it as a self-contained checkpoint of ours "
        "(an original MovieGPT one needs --training_data)",
    )
    a("--evaluate", metavar="FILE", help="with --checkpoint: exact loss, bits per character and perplexity on FILE")
    a(
        "--eval_stride",
        type=positive_int,
        help="characters the --evaluate window moves each time; 1 gives every character the full context "
        "(default: half the context)",
    )
    a("--json", action="store_true", help="with --evaluate or --compare: print one JSON line for scripts")
    if model == "bigram":
        a(
            "--compare",
            metavar="CHECKPOINT",
            help="train the bigram on a GPT checkpoint's data (or use --checkpoint) and compare their validation loss",
        )
    return p


def parse_args(argv: list[str] | None = None, model: str = "gpt") -> argparse.Namespace:
    parser = build_parser(model)
    args = parser.parse_args(argv)
    for action in parser._actions:  # a second pass without defaults tells which flags were given
        action.default = argparse.SUPPRESS
    explicit = set(vars(parser.parse_args(argv)))
    if model == "bigram":
        values = {**{f.removeprefix("--"): None for f in GPT_ONLY_FLAGS}, **vars(args)}
        values.update({k: v for k, v in BIGRAM_DEFAULTS.items() if values[k] is None})
    else:
        values = {**apply_preset(vars(args), args.preset), "compare": None}
    return argparse.Namespace(**values, model=model, explicit=explicit)
