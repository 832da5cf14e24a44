"""What `gpt.py --checkpoint` runs (generation from a checkpoint), also used after training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from . import cli
from .checkpoint import load_checkpoint, model_from_checkpoint, record_format_of, save_checkpoint
from .data import RecordFormat
from .decoding import DecodingConfig
from .download import fetch
from .errors import UserError
from .evaluation import EvalResult, evaluate_text
from .generation import save_output
from .interactive import Session, repl
from .model import GPT
from .posters import make_posters
from .runtime import prepare_for_inference, resolve_device, resolve_inference_dtype
from .sources import resolve_sources
from .textfile import read_text
from .tokenizer import Tokenizer


def decoding_config_from(args: argparse.Namespace) -> DecodingConfig:
    return DecodingConfig(
        max_new_tokens=args.max_new_tokens, decode=args.decode, temperature=args.temperature, top_k=args.top_k,
        top_p=args.top_p, repetition_penalty=args.repetition_penalty, num_beams=args.num_beams,
        num_samples=args.num_samples, seed=args.seed,
    )


def stop_strings(args: argparse.Namespace, record_format: RecordFormat | None) -> list[str]:
    if args.no_stop:
        return []
    if args.stop:
        return args.stop
    return [record_format.end] if record_format else []


def generate_and_save(model: GPT, tokenizer: Tokenizer, record_format: RecordFormat | None,
                      device: torch.device, dtype: torch.dtype, args: argparse.Namespace) -> None:
    """Generate as the flags say (one prompt, a title, or the interactive loop) and save under outputs/."""
    session = Session(prepare_for_inference(model, device, dtype), tokenizer, decoding_config_from(args),
                      stop_strings(args, record_format), record_format, typewriter=args.typewriter)
    credit = poster_credit(model, args)

    def posters(text: str) -> None:
        save_posters(text, record_format, credit, args.posters_dir)

    if args.interactive:
        repl(session, args.outputs_dir, poster=posters)
        return
    if args.title is not None:
        prompt = session.title_prompt(args.title)
    else:
        prompt = cli.read_prompt(args.prompt) or session.default_prompt()
    text = session.run(prompt)
    print(f"saved to {save_output(text, args.outputs_dir)}")
    if args.poster:
        posters(text)


def poster_credit(model: torch.nn.Module, args: argparse.Namespace) -> str:
    """The poster's small print: the model and the sampling settings."""
    config = decoding_config_from(args)
    if config.decode == "sample":
        sampling = f"temperature {config.temperature:g}" + (f", top_k {config.top_k}" if config.top_k else "") + \
            (f", top_p {config.top_p:g}" if config.top_p else "")
    else:
        sampling = config.decode + (f", {config.num_beams} beams" if config.decode == "beam" else "")
    name = Path(args.checkpoint).name if args.checkpoint else "a new run"
    return f"written by MovieGPT · {name} · {model.num_parameters() / 1e6:.1f}M parameters · {sampling}"


def save_posters(text: str, record_format: RecordFormat | None, credit: str, posters_dir: str) -> list[Path]:
    paths = make_posters(text, record_format, credit, posters_dir)
    for path in paths:
        print(f"poster saved to {path}", flush=True)
    if not paths:
        print("no movie record (The description of the movie named '...' is:) in the text: no poster", flush=True)
    return paths


def poster_from_command(args: argparse.Namespace) -> None:
    """--poster_from FILE: posters for the movies in a text already generated (no model needed)."""
    text = read_text(args.poster_from, what="--poster_from file")
    save_posters(text, None, f"written by MovieGPT · {Path(args.poster_from).name}", args.posters_dir)


def local_checkpoint(spec: str, args: argparse.Namespace) -> Path:
    """A checkpoint path, URL, Drive link or id as a local file (downloads cached), checked against --sha256."""
    return fetch(spec, cli.resolve_cache_dir(args.cache_dir) / "downloads", args.sha256, reject_html=True)


def original_training_text(args: argparse.Namespace) -> Path | None:
    """With --checkpoint, --training_data names the text an original MovieGPT checkpoint was trained on."""
    if not args.training_data:
        return None
    files = resolve_sources(args.training_data, cli.resolve_cache_dir(args.cache_dir) / "downloads")
    if len(files) != 1:
        raise UserError("with --checkpoint, --training_data takes the one file the original model was trained on")
    return files[0]


def checkpoint_state(args: argparse.Namespace) -> dict:
    """The --checkpoint as a loaded checkpoint of ours (downloaded, checked, converted from the original's)."""
    return load_checkpoint(local_checkpoint(args.checkpoint, args), original_training_text(args))


def convert_command(args: argparse.Namespace) -> None:
    """--convert OUT: save --checkpoint (an original MovieGPT state dict, or ours) as a self-contained checkpoint."""
    save_checkpoint(args.convert, checkpoint_state(args))
    print(f"saved {args.convert}; generate with: python gpt.py --checkpoint {args.convert}", flush=True)


def load_for_inference(args: argparse.Namespace
                       ) -> tuple[torch.nn.Module, Tokenizer, RecordFormat | None, torch.device, torch.dtype]:
    """--checkpoint's model (on its device, in its inference dtype), tokenizer and record format."""
    state = checkpoint_state(args)
    model, tokenizer = model_from_checkpoint(state)
    device = resolve_device(args.device)
    dtype = resolve_inference_dtype(args.dtype, device)
    return prepare_for_inference(model, device, dtype), tokenizer, record_format_of(state), device, dtype


def generate_command(args: argparse.Namespace) -> None:
    cli.check_outputs_dir(args.outputs_dir)
    generate_and_save(*load_for_inference(args), args=args)


def print_evaluation(result: EvalResult, args: argparse.Namespace, **fields: object) -> None:
    if args.json:
        print(json.dumps({**fields, **result.to_dict()}), flush=True)
    else:
        print(result.summary(), flush=True)


def evaluate_command(args: argparse.Namespace) -> None:
    """--evaluate FILE --checkpoint CKPT: the exact loss of the model on every character of FILE."""
    model, tokenizer, _, device, _ = load_for_inference(args)
    text = read_text(args.evaluate, what="--evaluate file")
    result = evaluate_text(model, tokenizer, text, args.eval_stride, device)
    if result.tokens == 0:
        raise UserError(f"nothing to evaluate: {args.evaluate} has fewer than two characters the model knows")
    print_evaluation(result, args, checkpoint=str(args.checkpoint), file=str(args.evaluate))
