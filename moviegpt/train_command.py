"""What `gpt.py --training_data` / `--resume` runs: one training run, in one process or under torchrun."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from . import cli
from .bigram import BigramConfig, BigramLanguageModel
from .checkpoint import model_from_checkpoint, newest_good_checkpoint
from .commands import decoding_config_from, generate_and_save, local_checkpoint
from .data import RecordFormat, TextDataset, has_records
from .distributed import (
    SINGLE,
    DistContext,
    broadcast_from_main,
    init_distributed,
    main_first,
    shutdown,
)
from .download import is_remote
from .errors import UserError
from .model import GPT, GPTConfig
from .runtime import (
    configure_backends,
    resolve_device,
    resolve_dtype,
    resolve_inference_dtype,
    seed_everything,
)
from .sources import resolve_sources
from .token_cache import EncodedCorpus, encode_corpus
from .tokenization import TokenizerSpec
from .tokenizer import Tokenizer
from .tracking import NullLogger, RunLogger, resolve_wandb_mode
from .training import TrainConfig, Trainer


def train_config_from(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        batch_size=args.batch_size, lr=args.lr, epochs=args.epochs, max_iters=args.max_iters,
        max_minutes=args.max_minutes, eval_iters=args.eval_iters, eval_interval=args.eval_interval,
        logging_steps=args.logging_steps, seed=args.seed, keep_checkpoints=args.keep_checkpoints,
        checkpoint_every_minutes=args.checkpoint_every_minutes, checkpoint_every_steps=args.checkpoint_every_steps,
        grad_accum=args.grad_accum, compile=args.compile,
    )


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


def load_corpus(args: argparse.Namespace, context: DistContext) -> tuple[list[Path], EncodedCorpus]:
    """The training files and their token cache; under torchrun one rank per machine downloads and encodes."""
    cache_dir = cli.resolve_cache_dir(args.cache_dir)
    with main_first(context):
        files = resolve_sources(cli.resolve_training_data(args.training_data), cache_dir / "downloads")
        return files, encode_corpus(files, cache_dir / "tokens", tokenizer_spec(args))


def tokenizer_spec(args: argparse.Namespace) -> TokenizerSpec:
    return TokenizerSpec(args.tokenizer, args.vocab_size, args.min_freq)


def check_global_batch(dataset: TextDataset, args: argparse.Namespace, context: DistContext,
                       global_batch: int) -> None:
    """Under torchrun, refuse a global batch larger than the training split (every step would repeat data)."""
    train_size = len(dataset.splits["train"])
    if context.enabled and global_batch * args.context_length > train_size:
        raise UserError(f"the global batch ({args.batch_size} x grad_accum {args.grad_accum} x "
                        f"{context.world_size} processes = {global_batch} sequences of {args.context_length}) "
                        f"is larger than the training split ({train_size:,} characters); "
                        "lower --batch_size or the number of processes")


@dataclass
class TrainedRun:
    """What a finished training run leaves for the caller: the model and what it was trained on."""

    args: argparse.Namespace  # the run's arguments (for --resume: merged with its checkpoint's)
    model: torch.nn.Module
    tokenizer: Tokenizer
    dataset: TextDataset
    record_format: RecordFormat | None
    device: torch.device
    checkpoint: Path


def new_model(args: argparse.Namespace, vocab_size: int) -> torch.nn.Module:
    """A fresh GPT, or the bigram baseline for simple_bigram.py."""
    if args.model == "bigram":
        return BigramLanguageModel(BigramConfig(vocab_size=vocab_size, context_length=args.context_length))
    return GPT(GPTConfig(vocab_size=vocab_size, context_length=args.context_length, n_embd=args.n_embd,
                         n_head=args.n_head, n_layer=args.n_layer, dropout=args.dropout))


def train_command(args: argparse.Namespace) -> None:
    """Train (under torchrun too), then generate from the trained model on rank 0."""
    context, rank_device = init_distributed(args.device, args.dist_timeout_minutes)
    try:
        if not context.is_main:
            sys.stdout = open(os.devnull, "w")  # only rank 0 prints; errors still reach stderr
        run = run_training(args, context, rank_device)
    finally:
        shutdown(context)
    if context.is_main:
        generate_and_save(run.model, run.tokenizer, run.record_format, run.device,
                          resolve_inference_dtype(run.args.dtype, run.device), run.args)


def run_training(args: argparse.Namespace, context: DistContext = SINGLE,
                 rank_device: torch.device | None = None) -> TrainedRun:
    args, state, resume_dir = resume_state(args)
    decoding_config_from(args)  # refuse bad sampling settings and outputs folders before a long run, not after
    if context.is_main:
        cli.check_outputs_dir(args.outputs_dir)
    files, corpus = load_corpus(args, context)
    tokenizer = corpus.tokenizer
    dataset = TextDataset.from_tokens(corpus.tokens, tokenizer)
    record_format = RecordFormat() if has_records(corpus.tokens, tokenizer) else None
    dataset.check_fits(args.context_length)
    global_batch = args.batch_size * args.grad_accum * context.world_size
    check_global_batch(dataset, args, context, global_batch)
    device = rank_device or resolve_device(args.device)
    configure_backends(device)
    dtype = resolve_dtype(args.dtype, device)
    wandb_mode = resolve_wandb_mode(args.wandb)
    out_dir = resume_dir or (cli.prepare_out_dir(args.out_dir) if context.is_main else None)
    out_dir = Path(broadcast_from_main(str(out_dir), context))  # the same (timestamped) folder on every rank
    seed_everything(args.seed)
    if state is not None and state["tokenizer"] != tokenizer.to_dict():
        raise UserError("the training data changed since the checkpoint (its tokenizer differs); cannot resume")
    model = model_from_checkpoint(state)[0] if state is not None else new_model(args, tokenizer.vocab_size)
    if context.enabled:
        seed_everything(args.seed + context.rank)  # the same initial weights, but each rank its own dropout
    run_args = {**vars(args), "training_data": [str(f) for f in files], "out_dir": str(out_dir),
                "world_size": context.world_size, "global_batch_size": global_batch}
    run_args.pop("explicit")
    source = str(files[0]) if len(files) == 1 else f"{len(files)} files"
    processes = f" x {context.world_size} processes" if context.enabled else ""
    unit = "characters" if tokenizer.kind == "char" else f"{tokenizer.kind} tokens"
    print(f"training on {source} ({len(corpus.tokens):,} {unit}, vocabulary {tokenizer.vocab_size:,}, "
          f"token cache {'reused' if corpus.reused else 'built'}: {corpus.cache_path}) | "
          f"{model.num_parameters():,} parameters | {device} {str(dtype).removeprefix('torch.')} | "
          f"global batch {args.batch_size} x grad_accum {args.grad_accum}{processes} = {global_batch} sequences "
          f"of {args.context_length} per step | run folder {out_dir}", flush=True)
    if context.is_main:
        logger = RunLogger(out_dir, wandb_mode, args.wandb_project,
                           {**run_args, "n_params": model.num_parameters(), "vocab_size": tokenizer.vocab_size},
                           resume_id=state.get("wandb_run_id") if state else None)
    else:
        logger = NullLogger()
    extra_state = {"train_args": run_args, "record_format": record_format.to_dict() if record_format else None}
    try:
        trainer = Trainer(model, tokenizer, dataset, train_config_from(args), device, dtype, out_dir, logger,
                          extra_state=extra_state, context=context)
        if state is not None:
            trainer.restore(state)
        with stop_on_signals(trainer.request_stop) as received:
            result = trainer.train()
    finally:
        logger.close()
    print(f"done: {result.step} steps, val loss {result.val_loss:.4f}, checkpoint {result.checkpoint}", flush=True)
    if received:
        script = "gpt.py" if args.model == "gpt" else "simple_bigram.py"
        print(f"interrupted; to go on: python {script} --resume {out_dir}", flush=True)
        raise KeyboardInterrupt
    return TrainedRun(args, model, tokenizer, dataset, record_format, device, result.checkpoint)
