"""Movie posters drawn by us: deterministic art from the title, the title, a tagline and the fitted description."""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import re
from pathlib import Path

from PIL import Image, ImageDraw

from moviegpt.errors import UserError
from moviegpt.files import atomic_write
from moviegpt.posters.fonts import FontChain
from moviegpt.records import Movie, RecordFormat, parse_movies

SIZE = (800, 1200)  # 2:3 portrait
MARGIN = 56
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
Box = tuple[int, int, int, int]


def palette(title: str) -> list[tuple[int, int, int]]:
    """Three colours chosen by the title's hash: the same title always gets the same colours."""
    rng = random.Random(hashlib.sha256(title.encode("utf-8")).digest())
    hue = rng.random()
    colours = []
    for shift, value in ((0.0, 0.18), (rng.uniform(0.05, 0.2), 0.45), (rng.uniform(0.4, 0.6), 0.85)):
        r, g, b = colorsys.hsv_to_rgb((hue + shift) % 1.0, rng.uniform(0.5, 0.9), value)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def background(title: str) -> Image.Image:
    """A vertical gradient with translucent circles and bars, all placed by the title's hash."""
    dark, mid, light = palette(title)
    rng = random.Random(hashlib.sha256(b"shapes" + title.encode("utf-8")).digest())
    image = Image.new("RGB", SIZE)
    pixels = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        t = y / (SIZE[1] - 1)
        pixels.line([(0, y), (SIZE[0], y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(mid, dark)))
    overlay = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(5, 11)):
        x, y, r = rng.randint(0, SIZE[0]), rng.randint(0, SIZE[1]), rng.randint(40, 320)
        colour = (*rng.choice((light, mid, dark)), rng.randint(40, 110))
        if rng.random() < 0.6:
            shapes.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            shapes.polygon([(x - r, y), (x, y - r // 3), (x + r, y), (x, y + r // 3)], fill=colour)
    return Image.alpha_composite(image.convert("RGBA"), overlay)


def wrap(text: str, chain: FontChain, size: int, width: int) -> list[str]:
    """Greedy line wrapping by measured width; a word wider than a line (or text without spaces) is split."""
    lines, line = [], ""
    for word in re.findall(r"\S+\s*", text.replace("\n", " ")):
        candidate = line + word
        if chain.width(candidate.rstrip(), size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line.rstrip())
        line = ""
        for char in word:
            if chain.width((line + char).rstrip(), size) > width and line:
                lines.append(line.rstrip())
                line = ""
            line += char
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fit(
    text: str, chain: FontChain, sizes: range, width: int, height: int, max_lines: int = 99
) -> tuple[list[str], int]:
    """The largest size at which text fits the box; else the smallest, cut at a sentence (or a line) with '…'."""
    for size in sizes:
        lines = wrap(text, chain, size, width)
        if len(lines) <= max_lines and len(lines) * size * 1.3 <= height:
            return lines, size
    size = sizes[-1]
    sentences = [s for s in SENTENCE_END.split(text) if s]
    while len(sentences) > 1:
        sentences.pop()
        lines = wrap(" ".join(sentences) + " …", chain, size, width)
        if len(lines) <= max_lines and len(lines) * size * 1.3 <= height:
            return lines, size
    lines = wrap(text, chain, size, width)
    keep = max(1, min(max_lines, int(height // (size * 1.3))))
    if len(lines) > keep:
        lines = lines[:keep]
        while lines[-1] and chain.width(lines[-1] + " …", size) > width:
            lines[-1] = lines[-1].rsplit(" ", 1)[0] if " " in lines[-1] else lines[-1][:-1]  # whole words
        lines[-1] = lines[-1] + " …"
    return lines, size


def draw_lines(
    draw: ImageDraw.ImageDraw, chain: FontChain, lines: list[str], size: int, top: int, fill, center: bool = True
) -> Box:
    """Draw lines from top; returns the box they occupy."""
    width = SIZE[0] - 2 * MARGIN
    widths = [chain.width(line, size) for line in lines]
    y = top
    for line, w in zip(lines, widths):
        x = MARGIN + (width - w) / 2 if center else MARGIN
        chain.draw(draw, (x, y), line, size, fill)
        y += int(size * 1.3)
    left = MARGIN + (width - max(widths, default=0)) / 2 if center else MARGIN
    return int(left), top, int(left + max(widths, default=0)), y


def render_poster(movie: Movie, credit: str) -> tuple[Image.Image, dict[str, Box]]:
    """The poster and the boxes of its texts (title, tagline, description, credit)."""
    image = background(movie.title)
    draw = ImageDraw.Draw(image)
    width = SIZE[0] - 2 * MARGIN
    bold, italic, regular = FontChain("bold"), FontChain("italic"), FontChain("regular")
    boxes: dict[str, Box] = {}
    lines, size = fit(movie.title or "Untitled", bold, range(96, 27, -4), width, 330, max_lines=3)
    boxes["title"] = draw_lines(draw, bold, lines, size, 90, (255, 255, 255))
    tagline = (SENTENCE_END.split(movie.description.strip(), maxsplit=1) or [""])[0]
    lines, size = fit(tagline, italic, range(30, 19, -2), width, 90, max_lines=2)
    boxes["tagline"] = draw_lines(draw, italic, lines, size, boxes["title"][3] + 30, (255, 236, 200))
    top, bottom = max(boxes["tagline"][3] + 40, 560), SIZE[1] - 110
    panel = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(panel).rectangle((MARGIN - 20, top - 20, SIZE[0] - MARGIN + 20, bottom + 10), fill=(0, 0, 0, 120))
    image.alpha_composite(panel)
    draw = ImageDraw.Draw(image)
    lines, size = fit(movie.description, regular, range(30, 13, -1), width, bottom - top)
    boxes["description"] = draw_lines(draw, regular, lines, size, top, (240, 240, 240), center=False)
    lines, size = fit(credit, regular, range(16, 9, -1), width, 50, max_lines=2)
    boxes["credit"] = draw_lines(draw, regular, lines, size, SIZE[1] - 80, (210, 210, 210))
    return image.convert("RGB"), boxes


def poster_file_name(title: str) -> str:
    """A safe file name from the title: letters, digits and dashes only (never a path)."""
    from unidecode import unidecode

    slug = re.sub(r"[^A-Za-z0-9]+", "-", unidecode(title)).strip("-").lower()[:80]
    return f"{slug or 'untitled'}.png"


def save_poster(image: Image.Image, title: str, posters_dir: str | Path) -> Path:
    """Write image as posters_dir/<title>.png, never overwriting an existing poster (adds -2, -3, ...)."""
    folder = Path(posters_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the posters folder {folder}: {exc.strerror or exc}") from None
    name = poster_file_name(title)
    path, counter = folder / name, 2
    while path.exists():
        path, counter = folder / f"{name[:-4]}-{counter}.png", counter + 1
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    try:
        atomic_write(path, lambda f: f.write(buffer.getvalue()))
    except OSError as exc:
        raise UserError(f"cannot write poster {path}: {exc.strerror or exc}") from None
    return path


def make_posters(text: str, record_format: RecordFormat | None, credit: str, posters_dir: str | Path) -> list[Path]:
    """A poster for every movie record in text (none when the text holds no record)."""
    return [
        save_poster(render_poster(movie, credit)[0], movie.title, posters_dir)
        for movie in parse_movies(text, record_format)
    ]
