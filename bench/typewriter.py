"""The typewriter as a GIF: a real terminal (tmux) runs `gpt.py --checkpoint CKPT --title T`, its screen is captured
every 20 ms, and each capture is drawn as a frame with Pillow, shown for as long as it was on screen (the last
for 3 seconds).

    python bench/typewriter.py runs/latest/best.pt --title "The Lonely Miner" --out bench/figures/typewriter.gif
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONT = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
COLUMNS, ROWS = 100, 14
TICK = 0.02  # seconds between captures


def capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def frames_of(command: str, seconds: float, folder: str) -> list[tuple[str, float]]:
    """The terminal's text every TICK seconds while the command runs (at most `seconds`), when it changed, with the
    time it was captured."""
    session = f"moviegpt{int(time.time())}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(COLUMNS), "-y", str(ROWS), "-c", folder, command],
        check=True,
    )
    frames, end = [], time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            screen = capture(session)
            if not frames or screen != frames[-1][0]:
                frames.append((screen, time.monotonic()))
            if "saved to" in screen:
                break
            time.sleep(TICK)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return frames


def draw(text: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    width, height = round(font.getlength("M" * COLUMNS)) + 20, 18 * ROWS + 20
    image = Image.new("RGB", (width, height), (24, 24, 28))
    ImageDraw.Draw(image).multiline_text((10, 10), text.rstrip("\n"), font=font, fill=(225, 225, 215), spacing=4)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--title", default="The Lonely Miner")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "figures" / "typewriter.gif")
    args = parser.parse_args()
    command = [
        sys.executable,
        str(ROOT / "gpt.py"),
        "--checkpoint",
        str(args.checkpoint.resolve()),
        "--title",
        args.title,
    ]
    with tempfile.TemporaryDirectory() as folder:  # the text is saved under outputs/ there, as in a user's project
        frames = frames_of(shlex.join(command) + "; sleep 2", seconds=60, folder=folder)
    font = ImageFont.truetype(str(FONT), 14)
    images = [draw(screen, font) for screen, _ in frames]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    durations = [round((b[1] - a[1]) * 1000) for a, b in zip(frames, frames[1:])] + [3000]
    images[0].save(args.out, save_all=True, append_images=images[1:], duration=durations, loop=0)
    print(f"{len(images)} frames -> {args.out}")


if __name__ == "__main__":
    main()
