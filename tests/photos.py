"""Real JPEG photos for the audit tests, drawn deterministically with Pillow (no binary fixtures).

A *scene* is a wide picture of a plot (sky, tree line, a pond, a paddy with bunds, a hut, noise like a
phone sensor's). A *photo* of it is a window of the scene as a camera at some position would frame it,
encoded as JPEG with optional EXIF (DateTimeOriginal and GPS), the way a phone writes them.
"""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import Image, ImageDraw, ImageFilter

SCENE_SIZE = (2400, 1600)


def scene(seed: int = 1) -> Image.Image:
    """A synthetic plot scene (RGB, :data:`SCENE_SIZE`), the same for the same ``seed``."""
    rng = random.Random(seed)  # noqa: S311 (a drawing, not a secret)
    width, height = SCENE_SIZE
    horizon = int(height * 0.42)
    img = Image.new("RGB", SCENE_SIZE)
    draw = ImageDraw.Draw(img)
    for y in range(horizon):  # sky, lighter towards the horizon
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(90 + 110 * t), int(150 + 70 * t), int(230 - 20 * t)))
    for y in range(horizon, height):  # ground, darker towards the camera
        t = (y - horizon) / (height - horizon)
        draw.line([(0, y), (width, y)], fill=(int(120 - 50 * t), int(150 - 40 * t), int(60 - 20 * t)))
    for _ in range(12):  # clouds
        x, y, r = rng.randrange(width), rng.randrange(horizon // 2), rng.randrange(60, 160)
        draw.ellipse([x - 2 * r, y - r // 2, x + 2 * r, y + r // 2], fill=(240, 244, 250))
    for _ in range(40):  # tree line (the khok's forest)
        x, r = rng.randrange(width), rng.randrange(40, 110)
        shade = rng.randrange(40, 90)
        draw.ellipse([x - r, horizon - 2 * r, x + r, horizon + r // 3], fill=(20, shade + 40, 20))
        draw.rectangle([x - 8, horizon - r // 2, x + 8, horizon + r // 2], fill=(80, 50, 30))
    pond = (int(width * 0.15), int(height * 0.55), int(width * 0.55), int(height * 0.78))
    draw.ellipse(pond, fill=(60, 110, 150))  # the nong
    for i in range(6):  # paddy terraces and bunds (the na)
        y = int(height * 0.8) + i * 50
        draw.rectangle([int(width * 0.6), y, width, y + 38], fill=(150 - 10 * i, 190 - 8 * i, 70))
    draw.polygon([(1700, 700), (1900, 560), (2100, 700)], fill=(150, 60, 40))  # a hut
    draw.rectangle([1730, 700, 2070, 860], fill=(170, 130, 80))
    draw.rectangle([1860, 760, 1940, 860], fill=(60, 40, 20))
    noise = Image.effect_noise(SCENE_SIZE, 18).convert("RGB")
    return Image.blend(img.filter(ImageFilter.GaussianBlur(1.5)), noise, 0.08)


def frame(picture: Image.Image, box: tuple[int, int, int, int], size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """What a camera framing ``box`` (left, top, right, bottom pixels of the scene) records, at ``size``."""
    return picture.crop(box).resize(size, Image.Resampling.LANCZOS)


#: The first camera position, and a second one a few steps to the right and closer (same scene, another photo).
FIRST_VIEW = (200, 200, 1800, 1400)
SECOND_VIEW = (900, 450, 2300, 1500)


def jpeg(
    picture: Image.Image,
    *,
    quality: int = 90,
    taken: datetime | None = None,
    lonlat: tuple[float, float] | None = None,
) -> bytes:
    """JPEG bytes of ``picture`` with EXIF DateTimeOriginal (local time, as phones write it) and GPS position."""
    exif = Image.Exif()
    if taken is not None:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTime
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
        if taken.utcoffset() is not None:
            offset = taken.strftime("%z")
            exif.get_ifd(0x8769)[0x9011] = f"{offset[:3]}:{offset[3:]}"  # OffsetTimeOriginal
    if lonlat is not None:
        lon, lat = lonlat
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(abs(lat))
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(abs(lon))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)


def resized_copy(data: bytes, factor: float = 0.5, quality: int = 70) -> bytes:
    """The same photo scaled by ``factor`` and re-compressed (EXIF dropped, as messaging apps do)."""
    img = Image.open(io.BytesIO(data))
    img = img.resize((int(img.width * factor), int(img.height * factor)), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def cropped_copy(data: bytes, share: float = 0.05, quality: int = 85) -> bytes:
    """The same photo with ``share`` of its width and height cut off the edges (half each side), re-compressed."""
    img = Image.open(io.BytesIO(data))
    dx, dy = int(img.width * share / 2), int(img.height * share / 2)
    out = io.BytesIO()
    img.crop((dx, dy, img.width - dx, img.height - dy)).save(out, "JPEG", quality=quality)
    return out.getvalue()
