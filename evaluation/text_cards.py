"""Test frames with known on-screen text: title cards, name captions over a photo, signs on a photo.

Each frame comes with what was printed and where, so OCR (and the ingest stage that runs it) can be checked
against ground truth. Fonts are the DejaVu faces that ship with matplotlib and photos are scikit-image's
bundled ones, so nothing is downloaded and every frame is byte-identical from run to run.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FRAME_SIZE = (640, 360)
"""(width, height) of the generated frames."""
FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSansMono", "DejaVuSansMono-Bold")
"""Font faces bundled with matplotlib, by file stem."""
TEXT_FREE_PHOTOS = ("coffee", "chelsea", "rocket", "camera")
"""scikit-image photos with no legible text in them (not `astronaut`: her name tag reads as a garbled word)."""

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PrintedText:
    """One line printed on a frame: its text and the pixel box its ink covers (x0, y0, x1, y1)."""

    text: str
    box: Box


@dataclass(frozen=True)
class TextFrame:
    """An RGB uint8 frame (H, W, 3) and the lines printed on it, top to bottom."""

    image: np.ndarray
    lines: tuple[PrintedText, ...]


def font_path(name: str = "DejaVuSans") -> Path:
    """The .ttf file of a matplotlib-bundled font face, e.g. `DejaVuSerif-Bold`."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / f"{name}.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such matplotlib font (choose one of {', '.join(FONTS)})")
    return path


@functools.lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(name)), size)


@functools.lru_cache(maxsize=16)
def _photo(name: str, frame_size: tuple[int, int]) -> np.ndarray:
    import skimage.data

    picture = np.asarray(getattr(skimage.data, name)())
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    image = Image.fromarray(picture[..., :3].astype(np.uint8))
    width, height = frame_size
    scale = max(width / image.width, height / image.height)  # cover the frame, then crop the centre
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return np.asarray(image.crop((left, top, left + width, top + height)))


def photo_frame(photo: str = "astronaut", frame_size: tuple[int, int] = FRAME_SIZE) -> TextFrame:
    """A scikit-image photo filling the frame, with nothing printed on it."""
    return TextFrame(_photo(photo, frame_size).copy(), ())


def _draw(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont,
          fill: RGB, anchor: str) -> PrintedText:
    draw.text(xy, text, font=font, fill=fill, anchor=anchor)
    return PrintedText(text, tuple(float(v) for v in draw.textbbox(xy, text, font=font, anchor=anchor)))


def title_card(text: str, size: int = 48, font: str = "DejaVuSans-Bold", *, frame_size: tuple[int, int] = FRAME_SIZE,
               background: RGB = (18, 18, 28), colour: RGB = (255, 255, 255)) -> TextFrame:
    """Big centred text on a plain dark card; `\\n` separates lines, each centred (no text: a blank card)."""
    width, height = frame_size
    image = Image.new("RGB", frame_size, background)
    draw = ImageDraw.Draw(image)
    rows = [row for row in text.split("\n") if row]
    step = round(size * 1.3)
    top = height / 2 - step * (len(rows) - 1) / 2
    lines = tuple(_draw(draw, (width / 2, top + i * step), row, _font(font, size), colour, "mm")
                  for i, row in enumerate(rows))
    return TextFrame(np.asarray(image), lines)


def captioned_photo(name: str, role: str | None = None, size: int = 24, font: str = "DejaVuSans-Bold", *,
                    photo: str = "astronaut", frame_size: tuple[int, int] = FRAME_SIZE) -> TextFrame:
    """A news-style name caption: `name` (and a smaller `role` under it) on a dark band in the lower third."""
    width, height = frame_size
    image = Image.fromarray(_photo(photo, frame_size))
    role_size = max(10, round(size * 0.7))
    band_h = round(size * 1.6 + (role_size * 1.4 if role else 0))
    band_top = round(height * 2 / 3)
    overlay = Image.new("RGBA", frame_size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, band_top, round(width * 0.75), band_top + band_h), fill=(10, 20, 60, 215))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    left = round(width * 0.05)
    lines = [_draw(draw, (left, band_top + size * 0.3), name, _font(font, size), (255, 255, 255), "lt")]
    if role:
        lines.append(_draw(draw, (left, band_top + size * 1.45), role, _font(font.split("-")[0], role_size),
                           (220, 220, 220), "lt"))
    return TextFrame(np.asarray(image), tuple(lines))


def sign_on_photo(text: str, size: int = 32, font: str = "DejaVuSans-Bold", *, photo: str = "coffee",
                  centre: tuple[float, float] = (0.5, 0.4), sign: RGB = (250, 205, 30), ink: RGB = (20, 20, 20),
                  frame_size: tuple[int, int] = FRAME_SIZE) -> TextFrame:
    """Dark text on a bright rectangle (yellow by default) placed over a photo, `centre` in frame fractions."""
    width, height = frame_size
    image = Image.fromarray(_photo(photo, frame_size))
    draw = ImageDraw.Draw(image)
    face = _font(font, size)
    rows = text.split("\n")
    step = round(size * 1.25)
    cx, cy = centre[0] * width, centre[1] * height
    top = cy - step * (len(rows) - 1) / 2
    boxes = [draw.textbbox((cx, top + i * step), row, font=face, anchor="mm") for i, row in enumerate(rows)]
    pad = max(6, size // 2)
    draw.rectangle((min(b[0] for b in boxes) - pad, min(b[1] for b in boxes) - pad,
                    max(b[2] for b in boxes) + pad, max(b[3] for b in boxes) + pad),
                   fill=sign, outline=ink, width=max(2, size // 12))
    lines = tuple(_draw(draw, (cx, top + i * step), row, face, ink, "mm") for i, row in enumerate(rows))
    return TextFrame(np.asarray(image), lines)


def normalise(text: str) -> str:
    """Lower-case alphanumerics only: how OCR output is compared with what was printed (spacing and
    punctuation differences are OCR's usual noise, not misreadings)."""
    return re.sub(r"[^0-9a-z]", "", text.lower())
