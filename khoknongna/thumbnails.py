"""Small JPEG previews of submission photos, made with Pillow the first time they are asked for and kept in the
data folder (``<data-dir>/thumbnails/ab/<sha256>-<size>.jpg``): a photo's bytes never change under its SHA-256,
so a preview never goes stale, and deleting the folder only costs remaking them.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from khoknongna.storage.blobs import BlobStore, check_key

#: The longest side of a preview, in pixels.
THUMBNAIL_SIZE = 320


class NotAnImage(ValueError):
    """The file cannot be read as an image (damaged, or not a picture at all)."""


def make_thumbnail(data: bytes, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG of ``data`` whose longest side is at most ``size`` pixels, turned upright by its EXIF orientation.
    Raises :class:`NotAnImage` when Pillow cannot read it (or it is larger than Pillow's pixel limit)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as error:
        raise NotAnImage(str(error)) from error
    return out.getvalue()


def thumbnail(blobs: BlobStore, sha256: str, cache_dir: Path, size: int = THUMBNAIL_SIZE) -> bytes:
    """The preview of the blob ``sha256``, from ``cache_dir`` or made now and stored there (written to a
    temporary file and renamed, so a reader never sees half a file). Raises :class:`NotAnImage`."""
    key = check_key(sha256)
    path = cache_dir / key[:2] / f"{key}-{size}.jpg"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    with blobs.open(key) as stream:
        data = stream.read()
    made = make_thumbnail(data, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(made)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return made
