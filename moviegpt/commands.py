"""What the command line runs: a training run, and a generation from a checkpoint."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from . import cli
from .checkpoint import load_checkpoint, model_from_checkpoint, newest_good_checkpoint
from .data import RecordFormat, TextDataset, has_records
from .decoding import DecodingConfig
from .download import fetch, is_remote
from .errors import UserError
from .generation import save_output
from .interactive import Session, repl
from .model import GPT, GPTConfig
from .runtime import (configure_backends, prepare_for_inference, resolve_device, resolve_dtype,
                      resolve_inference_dtype, seed_everything)
from .sources import resolve_sources
from .token_cache import encode_corpus
from .tokenizer import CharTokenizer
from .tracking import RunLogger, resolve_wandb_mode
from .training import TrainConfig, Trainer


def train_config_from(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        batch_size=args.batch_size, lr=args.lr, epochs=args.epochs, max_iters=args.max_iters,
        max_minutes=args.max_minutes, eval_iters=args.eval_iters, eval_interval=args.eval_interval,
        logging_steps=args.logging_steps, seed=args.seed, keep_checkpoints=args.keep_checkpoints,
        checkpoint_every_minutes=args.checkpoint_every_minutes, checkpoint_every_steps=args.checkpoint_every_steps,
        grad_accum=args.grad_accum, compile=args.compile,
    )


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


def generate_and_save(model: GPT, tokenizer: CharTokenizer, record_format: RecordFormat | None,
                      args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> None:
    """Generate as the flags say (one prompt, a title, or the interactive loop) and save under outputs/."""
    session = Session(prepare_for_inference(model, device, dtype), tokenizer, decoding_config_from(args),
                      stop_strings(args, record_format), record_format, typewriter=args.typewriter)
    if args.interactive:
        repl(session, args.outputs_dir)
        return
    if args.title is not None:
        prompt = session.title_prompt(args.title)
    else:
        prompt = cli.read_prompt(args.prompt) or session.default_prompt()
    text = session.run(prompt)
    print(f"saved to {save_output(text, args.outputs_dir)}")


def local_checkpoint(spec: str, args: argparse.Namespace) -> Path:
    """A checkpoint path, URL, Drive link or id as a local file (downloads cached), checked against --sha256."""
    return fetch(spec, cli.resolve_cache_dir(args.cache_dir) / "downloads", args.sha256, reject_html=True)


def resume_state(args: argparse.Namespace) -> tuple[argparse.Namespace, dict | None, Path | None]:
    """For --resume: the checkpoint to go on from, the arguments of its run, and its run folder
    (None for a downloaded checkpoint: that run goes on in a new --out_dir)."""
    if not args.resume:
        return args, None, None
    path, state, skipped = newest_good_checkpoint(local_checkpoint(args.resume, args))
    for problem in skipped:
        print(f"skipping a damaged checkpoint: {problem}", flush=True)
    print(f"resuming from {path} (step {state['step']}, epoch {state['epoch']})", flush=True)
    return cli.merge_resume_args(args, state["train_args"]), state, None if is_remote(args.resume) else path.parent


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[list[int]]:
    """Ctrl-C / SIGTERM ask the trainer to stop after the current step (and checkpoint); a second Ctrl-C aborts.

    Yields the list of signals received."""
    received: list[int] = []

    def handle(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        request_stop()
        print("\nstopping after this step to write a checkpoint (Ctrl-C again to abort)", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train_command(args: argparse.Namespace) -> None:
    args, state, resume_dir = resume_state(args)
    decoding_config_from(args)  # refuse bad sampling settings and outputs folders before a long run, not after
    cli.check_outputs_dir(args.outputs_dir)
    cache_dir = cli.resolve_cache_dir(args.cache_dir)
    files = resolve_sources(cli.resolve_training_data(args.training_data), cache_dir / "downloads")
    corpus = encode_corpus(files, cache_dir / "tokens")
    tokenizer = corpus.tokenizer
    dataset = TextDataset.from_tokens(corpus.tokens, tokenizer)
    record_format = RecordFormat() if has_records(corpus.tokens, tokenizer) else None
    model_config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=args.context_length,
                             n_embd=args.n_embd, n_head=args.n_head, n_layer=args.n_layer, dropout=args.dropout)
    dataset.check_fits(model_config.context_length)
    device = resolve_device(args.device)
    configure_backends(device)
    dtype = resolve_dtype(args.dtype, device)
    wandb_mode = resolve_wandb_mode(args.wandb)
    out_dir = resume_dir or cli.prepare_out_dir(args.out_dir)
    seed_everything(args.seed)
    if state is not None and state["tokenizer"]["chars"] != tokenizer.chars:
        raise UserError("the training data changed since the checkpoint (its characters differ); cannot resume")
    model = model_from_checkpoint(state)[0] if state is not None else GPT(model_config)
    run_args = {**vars(args), "training_data": [str(f) for f in files], "out_dir": str(out_dir)}
    run_args.pop("explicit")
    source = str(files[0]) if len(files) == 1 else f"{len(files)} files"
    print(f"training on {source} ({len(corpus.tokens):,} characters, vocabulary {tokenizer.vocab_size}, "
          f"token cache {'reused' if corpus.reused else 'built'}: {corpus.cache_path}) | "
          f"{model.num_parameters() / 1e6:.2f}M parameters | {device} {str(dtype).removeprefix('torch.')} | "
          f"batch {args.batch_size} x grad_accum {args.grad_accum} = {args.batch_size * args.grad_accum} sequences "
          f"of {args.context_length} per step | run folder {out_dir}", flush=True)
    logger = RunLogger(out_dir, wandb_mode, args.wandb_project,
                       {**run_args, "n_params": model.num_parameters(), "vocab_size": tokenizer.vocab_size},
                       resume_id=state.get("wandb_run_id") if state else None)
    extra_state = {"train_args": run_args, "record_format": record_format.to_dict() if record_format else None}
    try:
        trainer = Trainer(model, tokenizer, dataset, train_config_from(args), device, dtype, out_dir, logger,
                          extra_state=extra_state)
        if state is not None:
            trainer.restore(state)
        with stop_on_signals(trainer.request_stop) as received:
            result = trainer.train()
    finally:
        logger.close()
    print(f"done: {result.step} steps, val loss {result.val_loss:.4f}, checkpoint {result.checkpoint}", flush=True)
    if received:
        print(f"interrupted; to go on: python gpt.py --resume {out_dir}", flush=True)
        raise KeyboardInterrupt
    generate_and_save(model, tokenizer, record_format, args, device, resolve_inference_dtype(args.dtype, device))


def generate_command(args: argparse.Namespace) -> None:
    cli.check_outputs_dir(args.outputs_dir)
    state = load_checkpoint(local_checkpoint(args.checkpoint, args))
    model, tokenizer = model_from_checkpoint(state)
    record_format = RecordFormat(**state["record_format"]) if state.get("record_format") else None
    device = resolve_device(args.device)
    generate_and_save(model, tokenizer, record_format, args, device, resolve_inference_dtype(args.dtype, device))
