"""Fonts for posters: matplotlib's bundled DejaVu fonts first, then any system font that has a missing glyph."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageDraw, ImageFont

STYLES = {"bold": "DejaVuSans-Bold.ttf", "regular": "DejaVuSans.ttf", "italic": "DejaVuSans-Oblique.ttf"}


def bundled_font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def glyphs(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (read with fontTools, which matplotlib brings)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # a damaged or exotic system font is simply not used
        return frozenset()


@functools.cache
def fallback_fonts() -> tuple[str, ...]:
    """Other bundled fonts, then the system's (CJK and other scripts DejaVu lacks, where installed)."""
    from matplotlib import font_manager

    bundled = sorted(str(p) for p in bundled_font_dir().glob("*.ttf"))
    system = sorted(font_manager.findSystemFonts())
    # LastResort fonts draw a labelled box for every code point: a missing glyph by another name.
    return tuple(path for path in bundled + system if "lastresort" not in Path(path).name.lower())


class FontChain:
    """Draws and measures text with a primary font, taking each character the primary lacks from the first
    fallback font that has it (or the primary's missing-glyph box when none has: never an error)."""

    def __init__(self, style: str = "regular"):
        self.primary = str(bundled_font_dir() / STYLES[style])

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (a few chains live as long as the program)
    def font_path(self, char: str) -> str:
        if ord(char) in glyphs(self.primary) or char.isspace():
            return self.primary
        for path in fallback_fonts():
            if ord(char) in glyphs(path):
                return path
        return self.primary

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def font(path: str, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(path, size)

    def runs(self, text: str) -> list[tuple[str, str]]:
        """(font path, text) pieces of text, each drawable with one font."""
        pieces: list[tuple[str, str]] = []
        for char in text:
            path = self.font_path(char)
            if pieces and pieces[-1][0] == path:
                pieces[-1] = (path, pieces[-1][1] + char)
            else:
                pieces.append((path, char))
        return pieces

    def width(self, text: str, size: int) -> float:
        return sum(self.font(path, size).getlength(piece) for path, piece in self.runs(text))

    def draw(self, draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill) -> None:
        x, y = xy
        for path, piece in self.runs(text):
            draw.text((x, y), piece, font=self.font(path, size), fill=fill)
            x += self.font(path, size).getlength(piece)
