"""Data pipeline at Letterboxd scale: cold encode speed and peak memory of encoding + 100 training batches.

Builds a ~300 MB corpus by repeating ../shared/data/movies.txt, then measures (each in a fresh process, so peaks
do not mix): our streaming token cache + memmap batches on the full corpus and on a 30 MB slice, a warm start
(cache reused), and the original MovieGPT approach (read all, Python list, int64 tensor) on the 30 MB slice.

    python bench/data_pipeline.py [--source ../shared/data/movies.txt] [--target_mb 300] [--slice_mb 30]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: Path, cache_dir: Path) -> dict:
    import torch

    from moviegpt.data.dataset import TextDataset
    from moviegpt.data.token_cache import encode_corpus

    start = time.perf_counter()
    corpus = encode_corpus([path], cache_dir)
    encode_s = time.perf_counter() - start
    dataset = TextDataset.from_tokens(corpus.tokens, corpus.tokenizer)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(100):
        dataset.get_batch("train", 128, 256, generator)
    return {
        "encode_s": encode_s,
        "reused": corpus.reused,
        "batches_s": time.perf_counter() - start,
        "tokens": len(corpus.tokens),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_original(path: Path) -> dict:
    """The original MovieGPT: whole file as a str, a Python list of ids, an int64 tensor."""
    import torch

    start = time.perf_counter()
    text = path.read_text(encoding="utf-8")
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    encode_s = time.perf_counter() - start
    n = int(0.9 * len(data))
    train = data[:n]
    start = time.perf_counter()
    for _ in range(100):
        ix = torch.randint(len(train) - 256, (128,))
        torch.stack([train[i : i + 257] for i in ix])
    return {
        "encode_s": encode_s,
        "reused": False,
        "batches_s": time.perf_counter() - start,
        "tokens": len(data),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_import_only() -> dict:
    import torch  # noqa: F401

    from moviegpt.data import dataset, token_cache  # noqa: F401

    return {"peak_rss_mb": peak_rss_mb()}


def child(mode: str, path: str, cache_dir: str) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, path, cache_dir], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_corpus(source: Path, target: Path, megabytes: float) -> None:
    data = source.read_bytes()
    with target.open("wb") as f:
        while f.tell() < megabytes * 1e6:
            f.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "movies.txt")
    parser.add_argument("--target_mb", type=float, default=300)
    parser.add_argument("--slice_mb", type=float, default=30)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, cache = args.child
        result = {
            "ours": lambda: run_ours(Path(path), Path(cache)),
            "original": lambda: run_original(Path(path)),
            "import": run_import_only,
        }[mode]()
        print(json.dumps(result))
        return
    if not args.source.exists():
        raise SystemExit(f"skipping: {args.source} not found (the shared corpora live in ../shared/data)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big, small = tmp / "corpus_big.txt", tmp / "corpus_slice.txt"
        build_corpus(args.source, big, args.target_mb)
        small.write_bytes(big.read_bytes()[: int(args.slice_mb * 1e6)].decode("utf-8", "ignore").encode("utf-8"))
        megabytes = {big: big.stat().st_size / 1e6, small: small.stat().st_size / 1e6}
        rows = [
            ("import torch + moviegpt only", None, child("import", "", "")),
            ("ours, cold (streaming encode + memmap)", big, child("ours", str(big), str(tmp / "cache"))),
            ("ours, warm (cache reused)", big, child("ours", str(big), str(tmp / "cache"))),
            ("ours, cold", small, child("ours", str(small), str(tmp / "cache"))),
            ("original (str + list + int64 tensor)", small, child("original", str(small), "")),
        ]
    print("| approach | corpus MB | encode s | encode MB/s | 100 batches s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, path, r in rows:
        if path is None:
            print(f"| {name} | - | - | - | - | {r['peak_rss_mb']:.0f} |")
            continue
        mb = megabytes[path]
        speed = "(cache reused)" if r["reused"] else f"{mb / r['encode_s']:.0f}"
        print(f"| {name} | {mb:.0f} | {r['encode_s']:.2f} | {speed} | {r['batches_s']:.2f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
