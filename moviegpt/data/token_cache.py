"""Encoding a corpus once into a token file (.bin + .json) and reading it back as a numpy memmap.

Both passes (vocabulary, then ids) stream through the files in chunks, so memory stays bounded however large
the corpus is. A second run on unchanged files reuses the cache; a changed file (size, mtime, head or tail)
rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moviegpt.data.textfile import check_readable, iter_text_chunks
from moviegpt.errors import UserError
from moviegpt.files import atomic_write
from moviegpt.tokenizer.base import Tokenizer
from moviegpt.tokenizer.char import CharTokenizer
from moviegpt.tokenizer.factory import (
    TokenizerSpec,
    tokenizer_from_dict,
    train_tokenizer,
)

CACHE_VERSION = 2
MAX_CARRY = 4 * 2**20  # a "line" longer than this is cut at a space (or anywhere) to keep memory bounded
UNICODE_SIZE = 0x110000
FINGERPRINT_BYTES = 2**20


@dataclass
class EncodedCorpus:
    tokens: np.ndarray  # read-only memmap
    tokenizer: Tokenizer
    files: list[Path]
    cache_path: Path
    reused: bool


def fingerprint(path: Path) -> dict:
    """Size, mtime and a hash of the first and last MiB: cheap, and catches any edit in practice."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read(FINGERPRINT_BYTES))
        if stat.st_size > FINGERPRINT_BYTES:
            f.seek(max(FINGERPRINT_BYTES, stat.st_size - FINGERPRINT_BYTES))
            digest.update(f.read())
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "head_tail_sha256": digest.hexdigest(),
    }


def iter_corpus(files: list[Path]) -> Iterator[np.ndarray]:
    """Unicode code points of all files in order, chunk by chunk; a file not ending in a newline gets one.

    Chunks without astral characters come as uint16 (cheaper to make and to index), others as uint32.
    """
    for path in files:
        last = ""
        for text in iter_text_chunks(path):
            last = text[-1]
            units = np.frombuffer(text.encode("utf-16-le"), dtype=np.uint16)
            if units.max() >= 0xD800:  # maybe surrogate pairs: take the exact code points instead
                units = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            yield units
        if last != "\n" and len(files) > 1:
            yield np.array([ord("\n")], dtype=np.uint32)


def for_each_chunk(files: list[Path], work: Callable[[np.ndarray], None]) -> None:
    """Run work(code_points) on every chunk in order, on a worker thread, so numpy's indexing (which frees
    the GIL) overlaps with decoding the next chunk."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future | None = None
        for points in iter_corpus(files):
            job = pool.submit(work, points)
            if pending is not None:
                pending.result()
            pending = job
        if pending is not None:
            pending.result()


def build_vocabulary(files: list[Path]) -> CharTokenizer:
    """First pass: which characters occur anywhere in the corpus."""
    present = np.zeros(UNICODE_SIZE, dtype=bool)

    def mark(points: np.ndarray) -> None:
        present[points] = True

    for_each_chunk(files, mark)
    return CharTokenizer(chr(c) for c in np.flatnonzero(present))


def iter_line_chunks(files: list[Path]) -> Iterator[str]:
    """The corpus as text chunks that end after a newline (the rest waits for the next chunk), so that word and
    BPE tokenizers, which never join tokens across a newline, encode each chunk exactly as in the whole text."""
    carry = ""
    for path in files:
        last = ""
        for text in iter_text_chunks(path):
            last = text[-1]
            text = carry + text
            cut = text.rfind("\n") + 1
            if not cut and len(text) > MAX_CARRY:
                cut = text.rfind(" ") + 1 or len(text)
            carry = text[cut:]
            if cut:
                yield text[:cut]
        if last != "\n" and len(files) > 1:
            carry += "\n"
    if carry:
        yield carry


def write_text_tokens(files: list[Path], tokenizer: Tokenizer, path: Path) -> int:
    """Second pass for word and BPE tokenizers: encode chunk by chunk (bounded memory) into path."""
    count = 0

    def write(f) -> None:
        nonlocal count
        for chunk in iter_line_chunks(files):
            ids = tokenizer.encode_array(chunk)
            f.write(ids.tobytes())
            count += len(ids)

    atomic_write(path, write)
    return count


def write_tokens(files: list[Path], tokenizer: CharTokenizer, path: Path) -> int:
    """Second pass: write the token ids of the whole corpus to path; returns how many there are."""
    lookup = np.zeros(UNICODE_SIZE, dtype=tokenizer.token_dtype)
    lookup[[ord(c) for c in tokenizer.chars]] = np.arange(tokenizer.vocab_size)
    count = 0

    def write(f) -> None:
        def write_chunk(points: np.ndarray) -> None:
            nonlocal count
            f.write(lookup[points].tobytes())
            count += len(points)

        for_each_chunk(files, write_chunk)

    atomic_write(path, write)
    return count


def cache_paths(
    files: list[Path], cache_dir: Path, spec: TokenizerSpec, fixed: Tokenizer | None = None
) -> tuple[Path, Path]:
    how = fixed.to_dict() if fixed is not None else spec.cache_key()
    key = hashlib.sha256(json.dumps([[str(p.resolve()) for p in files], how]).encode()).hexdigest()[:16]
    stem = f"{files[0].stem}-{key}"
    return cache_dir / f"{stem}.bin", cache_dir / f"{stem}.json"


def load_cached(bin_path: Path, meta_path: Path, fingerprints: list[dict]) -> EncodedCorpus | None:
    """The cached corpus if it exists, is complete and matches the files as they are now."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        tokenizer = tokenizer_from_dict(meta["tokenizer"])
        dtype = np.dtype(meta["dtype"])
        fresh = meta["version"] == CACHE_VERSION and meta["sources"] == fingerprints
        if not fresh or bin_path.stat().st_size != meta["n_tokens"] * dtype.itemsize:
            return None
    except (OSError, ValueError, KeyError, TypeError, UserError):
        return None
    tokens = np.memmap(bin_path, dtype=dtype, mode="r", shape=(meta["n_tokens"],))
    files = [Path(s["path"]) for s in fingerprints]
    return EncodedCorpus(tokens, tokenizer, files, bin_path, reused=True)


def fixed_tokenizer_writer(files: list[Path], tokenizer: Tokenizer) -> Callable[[list[Path], Tokenizer, Path], int]:
    """How to encode files with a given tokenizer (fine-tuning); characters a char tokenizer lacks are refused."""
    if not isinstance(tokenizer, CharTokenizer):
        return write_text_tokens  # words it lacks become <unk>; byte-level BPE encodes anything
    unknown = sorted(set(build_vocabulary(files).chars) - set(tokenizer.chars))
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:20]) + (
            f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        )
        raise UserError(
            f"the training data has {len(unknown)} characters the checkpoint's model never saw: {shown}; "
            "remove them from the text, or train a new model"
        )
    return write_tokens


def encode_corpus(
    files: list[Path], cache_dir: str | Path, spec: TokenizerSpec | None = None, fixed: Tokenizer | None = None
) -> EncodedCorpus:
    """The token ids of files, from the cache when it is fresh, else encoded now and cached (the tokenizer is
    built or trained in a first pass over the files, the ids written in a second; or `fixed` is used as it is)."""
    cache_dir, spec = Path(cache_dir), spec or TokenizerSpec()
    for path in files:
        check_readable(path)  # missing or a directory: the same messages as when reading
    fingerprints = [fingerprint(p) for p in files]
    bin_path, meta_path = cache_paths(files, cache_dir, spec, fixed)
    cached = load_cached(bin_path, meta_path, fingerprints)
    if cached is not None:
        return cached
    if fixed is not None:
        tokenizer, write = fixed, fixed_tokenizer_writer(files, fixed)
    elif spec.tokenizer == "char":
        tokenizer = build_vocabulary(files)
        write = write_tokens
    else:
        tokenizer, write = train_tokenizer(spec, iter_line_chunks(files)), write_text_tokens
    try:
        n_tokens = write(files, tokenizer, bin_path)
        meta = {
            "version": CACHE_VERSION,
            "tokenizer": tokenizer.to_dict(),
            "dtype": np.dtype(tokenizer.token_dtype).name,
            "n_tokens": n_tokens,
            "sources": fingerprints,
        }
        atomic_write(meta_path, lambda f: f.write(json.dumps(meta, ensure_ascii=False).encode("utf-8")))
    except OSError as exc:
        raise UserError(f"cannot write the token cache in {cache_dir}: {exc.strerror or exc}") from None
    tokens = np.memmap(bin_path, dtype=tokenizer.token_dtype, mode="r", shape=(n_tokens,))
    return EncodedCorpus(tokens, tokenizer, files, bin_path, reused=False)
