"""loss.png: train and validation loss against tokens seen, drawn from a run's metrics.jsonl."""

from __future__ import annotations

import io
import json
from pathlib import Path

from moviegpt.files import atomic_write


def read_series(metrics_path: Path) -> dict[str, list[tuple[int, float]]]:
    """(tokens seen, loss) pairs of each logged loss in metrics.jsonl, in order."""
    series: dict[str, list[tuple[int, float]]] = {"train_loss": [], "val_loss": []}
    for line in metrics_path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line) if line.strip() else {}
        for key, points in series.items():
            if key in event and event.get("tokens_seen", 0) > 0:
                points.append((event["tokens_seen"], event[key]))
    return series


def write_loss_plot(metrics_path: Path, png_path: Path, title: str = "") -> None:
    """Draw the losses of metrics_path into png_path (atomically), with a log-scaled tokens axis."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # non-interactive: no display needed
    )
    from matplotlib.figure import Figure

    series = read_series(metrics_path)
    figure = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for key, label, style in (("train_loss", "train (logged batches)", "-"), ("val_loss", "validation", "o-")):
        if series[key]:
            tokens, losses = zip(*series[key])
            axes.plot(tokens, losses, style, label=label, markersize=3, linewidth=1.2)
    axes.set_xscale("log")
    axes.set_xlabel("tokens seen")
    axes.set_ylabel("loss (nats per character)")
    axes.set_title(title or "MovieGPT training")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write(png_path, lambda f: f.write(buffer.getvalue()))
