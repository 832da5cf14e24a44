"""Run logging: one JSON line per event in metrics.jsonl, mirrored to Weights & Biases, drawn in loss.png."""

from __future__ import annotations

import contextlib
import json
import netrc
import os
import sys
from pathlib import Path
from typing import Any

from moviegpt.errors import UserError
from moviegpt.training.plotting import write_loss_plot

WANDB_MODES = ("online", "offline", "disabled")


def wandb_key_configured() -> bool:
    """Whether wandb has an API key (environment variable or ~/.netrc) so no login prompt can appear."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_wandb_mode(mode: str | None) -> str:
    """Default: online when a key is configured, offline otherwise; online without a key is refused."""
    if mode is None:
        return "online" if wandb_key_configured() else "offline"
    if mode not in WANDB_MODES:
        raise UserError(f"--wandb must be one of {', '.join(WANDB_MODES)}, got {mode!r}")
    if mode == "online" and not wandb_key_configured():
        raise UserError("--wandb online needs an API key (run `wandb login` or set WANDB_API_KEY); use --wandb offline")
    return mode


class RunLogger:
    """Appends events to <out_dir>/metrics.jsonl and logs them to wandb unless disabled."""

    def __init__(
        self, out_dir: Path, wandb_mode: str, project: str, config: dict[str, Any], resume_id: str | None = None
    ):
        self.path = Path(out_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._wandb_run = None
        if wandb_mode != "disabled":
            self._wandb_run = self._start_wandb(out_dir, wandb_mode, project, config, resume_id)

    @property
    def wandb_run_id(self) -> str | None:
        """The wandb run's id, stored in checkpoints so that --resume continues the same wandb run."""
        return self._wandb_run.id if self._wandb_run is not None else None

    @staticmethod
    def _start_wandb(out_dir: Path, mode: str, project: str, config: dict[str, Any], resume_id: str | None):
        os.environ.setdefault("WANDB_SILENT", "true")
        import wandb  # imported lazily: it is slow to import and unused when disabled

        resume = {"id": resume_id, "resume": "allow"} if resume_id else {}
        run = wandb.init(
            project=project, config=config, mode=mode, dir=str(out_dir), reinit="finish_previous", **resume
        )
        run.define_metric("global_step")
        run.define_metric("*", step_metric="global_step")
        return run

    def log(self, event: dict[str, Any]) -> None:
        """One event into metrics.jsonl (a full disk is one line: the run stops, its last checkpoint kept) and to
        wandb (whose own failure only turns wandb off for the rest of the run)."""
        try:
            self._file.write(json.dumps(event) + "\n")
            self._file.flush()
        except OSError as exc:
            raise UserError(f"cannot write {self.path}: {exc.strerror or exc}; training stopped") from None
        if "val_loss" in event:
            self.refresh_plot()
        if self._wandb_run is not None:
            metrics = {k: v for k, v in event.items() if isinstance(v, (int, float)) and v is not None}
            try:
                self._wandb_run.log({"global_step": event["step"], **metrics})
            except Exception as exc:  # noqa: BLE001 (wandb's errors are many; none of them may stop training)
                print(f"warning: wandb failed ({exc}); going on without it", file=sys.stderr)
                self._wandb_run = None

    def refresh_plot(self) -> None:
        """Redraw loss.png beside metrics.jsonl; a failure to draw never stops training."""
        try:
            write_loss_plot(self.path, self.path.with_name("loss.png"), title=f"{self.path.parent.name}")
        except (OSError, ValueError) as exc:
            print(f"warning: could not draw loss.png: {exc}", file=sys.stderr)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # (a full disk was reported where it happened)
            self._file.close()
        if self._wandb_run is not None:
            with contextlib.suppress(Exception):
                self._wandb_run.finish()
            self._wandb_run = None


class NullLogger:
    """What ranks other than 0 log through under torchrun: nothing (they never write files)."""

    wandb_run_id = None

    def log(self, event: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass
