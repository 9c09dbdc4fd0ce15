"""Photos as evidence: a perceptual hash and the EXIF time and position of a JPEG, and the photo signals.

Reading (:func:`read_photo`) uses Pillow and ``imagehash``. The pHash is ``imagehash.phash`` (DCT of the
32×32 greyscale picture, 8×8 lowest frequencies against their median: 64 bits) of the picture turned upright
by its EXIF orientation; JPEGs are decoded at a reduced scale first (Pillow's ``draft``, at least 256 px on
the short side), which is both what makes a 3 MB photo fast and what the 32×32 resize throws away anyway.
Two pictures are near duplicates when the Hamming distance of their hashes is at most
:attr:`PhotoRules.max_distance` (docs/audit.md has the measurements behind the default).

The signal rules (:func:`exact_reuse_signal`, :func:`near_reuse_signal`, :func:`exif_signal`) are pure: they
take what the database found and return a :class:`CheckResult`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import IO
from zoneinfo import ZoneInfo

import imagehash
from PIL import Image, ImageOps, UnidentifiedImageError

from khoknongna.spatial.results import CheckResult, Finding

logger = logging.getLogger(__name__)

BANGKOK = ZoneInfo("Asia/Bangkok")
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _DATETIME = 0x9003, 0x9011, 0x0132

EXACT_RULE, EXACT_VERSION = "photo_reused_exact", 1
NEAR_RULE, NEAR_VERSION = "photo_reused_near", 1
EXIF_RULE, EXIF_VERSION = "photo_exif", 1


@dataclass(frozen=True)
class PhotoRules:
    """Thresholds of the photo signals.

    ``max_distance``: the most differing bits (of 64) between the pHashes of near duplicates; resized and
    re-compressed copies differ by 0–2, 5 % crops by 4–14, another photo of the same scene by 26 or more.
    ``max_age_days``: a photo taken more days than this before its reporting period starts is old.
    ``max_distance_m``: an EXIF position farther than this outside the plot is far (phones write the last
    fix they had, which can be minutes and hundreds of metres stale).
    """

    max_distance: int = 10
    max_age_days: int = 30
    max_distance_m: float = 1000.0


@dataclass(frozen=True)
class PhotoInfo:
    """What a photo file says: its pHash (signed 64-bit int), size in pixels, EXIF capture time (aware) and
    EXIF position (lon°, lat°); ``problem`` instead when it is not a readable image."""

    phash: int | None = None
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    lon: float | None = None
    lat: float | None = None
    problem: str | None = None


def to_signed64(value: int) -> int:
    """An unsigned 64-bit hash as PostgreSQL's signed ``bigint``."""
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_of(image: Image.Image) -> int:
    """The 64-bit pHash of ``image`` as a signed int."""
    bits = imagehash.phash(image).hash.flatten()
    return to_signed64(int("".join("1" if b else "0" for b in bits), 2))


def read_photo(fileobj: IO[bytes]) -> PhotoInfo:
    """Hash and read the EXIF of one image file. Never raises for a bad file: ``problem`` says why instead."""
    try:
        image = Image.open(fileobj)
        exif = image.getexif()
        width, height = image.size
        image.draft("L", (256, 256))  # JPEG: decode at 1/2, 1/4 or 1/8 scale; no-op for other formats
        upright = ImageOps.exif_transpose(image)
        value = phash_of(upright)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return PhotoInfo(problem=f"not a readable image: {exc}"[:300])
    lon, lat = _exif_position(exif)
    return PhotoInfo(value, width, height, _exif_time(exif), lon, lat)


def read_photo_bytes(data: bytes) -> PhotoInfo:
    """:func:`read_photo` of bytes."""
    return read_photo(io.BytesIO(data))


def _exif_time(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (else DateTime) with OffsetTimeOriginal; Asia/Bangkok when the offset is missing."""
    ifd = exif.get_ifd(_EXIF_IFD)
    text = ifd.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(text, str):
        return None
    try:
        local = datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = ifd.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and len(offset) >= 6 and offset[0] in "+-":
        try:
            sign = 1 if offset[0] == "+" else -1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return local.replace(tzinfo=timezone(sign * delta))
        except ValueError:
            pass
    return local.replace(tzinfo=BANGKOK)


def _exif_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    try:
        lat = _degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lon, lat


def _degrees(dms: Sequence[float]) -> float:
    d, m, s = (float(x) for x in dms)
    return d + m / 60 + s / 3600


# --- the signals ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoMatch:
    """A photo of this submission (``name``) found again in another submission, or twice in this one."""

    name: str
    other_submission_id: int
    other_instance_id: str
    other_form_id: str
    other_name: str
    other_plot: str | None
    distance: int = 0


def _match_numbers(match: PhotoMatch) -> dict:
    return {
        "attachment": match.name,
        "other_submission_id": match.other_submission_id,
        "other_instance_id": match.other_instance_id,
        "other_form_id": match.other_form_id,
        "other_attachment": match.other_name,
        "other_plot": match.other_plot,
        "distance_bits": match.distance,
    }


def exact_reuse_signal(photos: int, matches: Sequence[PhotoMatch], plot: str | None) -> CheckResult:
    """``photo_reused_exact`` v1: the same file (SHA-256) as a photo of another submission, or twice in this
    one. ``photos`` is how many photos the submission has; ``plot`` the plot it is about."""
    reused = sorted({m.name for m in matches})
    others = {m.other_submission_id for m in matches}
    other_plots = sorted({m.other_plot for m in matches if m.other_plot and m.other_plot != plot})
    numbers = {
        "photos": photos,
        "reused_photos": len(reused),
        "other_submissions": len(others),
        "other_plots": len(other_plots),
    }
    if not matches:
        return CheckResult.passed(
            EXACT_RULE,
            EXACT_VERSION,
            numbers,
            f"ภาพถ่าย {photos} ภาพไม่ซ้ำกับไฟล์ในรายงานอื่น",
            f"None of the {photos} photo(s) is a file already sent in another submission.",
        )
    findings = tuple(
        Finding(
            "same_file",
            _match_numbers(m),
            f"ภาพ {m.name} เป็นไฟล์เดียวกับภาพ {m.other_name} ในรายงาน {m.other_instance_id}"
            + (f" ของแปลงอื่น ({m.other_plot})" if m.other_plot and m.other_plot != plot else ""),
            f"Photo {m.name} is the same file as {m.other_name} in submission {m.other_instance_id}"
            + (f", about another plot ({m.other_plot})" if m.other_plot and m.other_plot != plot else ""),
        )
        for m in matches
    )
    plots_th = f" ใน {len(other_plots)} แปลงอื่น" if other_plots else ""
    plots_en = f", about {len(other_plots)} other plot(s)" if other_plots else ""
    return CheckResult(
        EXACT_RULE,
        EXACT_VERSION,
        "raised",
        numbers,
        f"ภาพถ่าย {len(reused)} จาก {photos} ภาพเป็นไฟล์เดียวกับภาพในรายงานอื่น {len(others)} รายการ{plots_th}",
        f"{len(reused)} of {photos} photo(s) are the same files as photos of {len(others)} other "
        f"submission(s){plots_en}.",
        findings,
    )


def near_reuse_signal(photos: int, matches: Sequence[PhotoMatch], plot: str | None, rules: PhotoRules) -> CheckResult:
    """``photo_reused_near`` v1: a photo whose pHash is within ``rules.max_distance`` bits of a photo of another
    submission (or of this one) that is not the same file: the same picture resized, re-compressed or cropped."""
    reused = sorted({m.name for m in matches})
    others = {m.other_submission_id for m in matches}
    numbers = {
        "photos": photos,
        "reused_photos": len(reused),
        "other_submissions": len(others),
        "max_distance_bits": rules.max_distance,
        "closest_distance_bits": min((m.distance for m in matches), default=None),
    }
    if not matches:
        return CheckResult.passed(
            NEAR_RULE,
            NEAR_VERSION,
            numbers,
            f"ภาพถ่าย {photos} ภาพไม่คล้ายภาพในรายงานอื่น",
            f"None of the {photos} photo(s) looks like a copy of a photo of another submission.",
        )
    findings = tuple(
        Finding(
            "same_picture",
            _match_numbers(m),
            f"ภาพ {m.name} เป็นภาพเดียวกับ {m.other_name} ในรายงาน {m.other_instance_id} ที่ถูกย่อ บีบอัด หรือตัดขอบ "
            f"(ต่างกัน {m.distance} บิตจาก 64)",
            f"Photo {m.name} is the picture {m.other_name} of submission {m.other_instance_id} resized, re-compressed "
            f"or cropped ({m.distance} of 64 bits differ)",
        )
        for m in matches
    )
    return CheckResult(
        NEAR_RULE,
        NEAR_VERSION,
        "raised",
        numbers,
        f"ภาพถ่าย {len(reused)} จาก {photos} ภาพเป็นภาพเดียวกับภาพในรายงานอื่น {len(others)} รายการ (ย่อ บีบอัด หรือตัดขอบ)",
        f"{len(reused)} of {photos} photo(s) are pictures of {len(others)} other submission(s), resized, "
        "re-compressed or cropped.",
        findings,
    )


@dataclass(frozen=True)
class ExifFacts:
    """One photo's EXIF against its submission: days taken before the reporting period starts (positive = before),
    metres its EXIF position lies outside the plot (``None`` when unknown)."""

    name: str
    taken_at: datetime | None
    days_before_period: float | None
    distance_outside_m: float | None


def exif_signal(photos: int, facts: Sequence[ExifFacts], period_start: date, rules: PhotoRules) -> CheckResult:
    """``photo_exif`` v1: photos whose EXIF capture time is more than ``rules.max_age_days`` before the reporting
    period (``period_start``), or whose EXIF position is more than ``rules.max_distance_m`` outside the plot."""
    findings = []
    for f in facts:
        if f.days_before_period is not None and f.days_before_period > rules.max_age_days:
            days = int(f.days_before_period)
            taken = f.taken_at.date().isoformat() if f.taken_at else "?"
            findings.append(
                Finding(
                    "taken_long_before",
                    {"attachment": f.name, "taken": taken, "days_before_period": days},
                    f"ภาพ {f.name} ถ่ายเมื่อ {taken} ก่อนช่วงที่รายงาน ({period_start.isoformat()}) {days} วัน",
                    f"Photo {f.name} was taken on {taken}, {days} days before the period reported "
                    f"({period_start.isoformat()}).",
                )
            )
        if f.distance_outside_m is not None and f.distance_outside_m > rules.max_distance_m:
            metres = round(f.distance_outside_m)
            findings.append(
                Finding(
                    "far_from_plot",
                    {"attachment": f.name, "distance_m": metres},
                    f"ตำแหน่งในภาพ {f.name} อยู่นอกแปลง {metres:,} ม.",
                    f"The position recorded in photo {f.name} is {metres:,} m outside the plot.",
                )
            )
    with_time = sum(f.taken_at is not None for f in facts)
    with_position = sum(f.distance_outside_m is not None for f in facts)
    numbers = {
        "photos": photos,
        "with_exif_time": with_time,
        "with_exif_position": with_position,
        "period_start": period_start.isoformat(),
        "max_age_days": rules.max_age_days,
        "max_distance_m": rules.max_distance_m,
        "old_photos": sum(f.code == "taken_long_before" for f in findings),
        "far_photos": sum(f.code == "far_from_plot" for f in findings),
    }
    if not findings:
        return CheckResult.passed(
            EXIF_RULE,
            EXIF_VERSION,
            numbers,
            f"เวลาและตำแหน่งในภาพ (มีเวลา {with_time} ภาพ มีตำแหน่ง {with_position} ภาพ) สอดคล้องกับรายงาน",
            f"The photos' recorded times ({with_time}) and positions ({with_position}) agree with the report.",
        )
    return CheckResult(
        EXIF_RULE,
        EXIF_VERSION,
        "raised",
        numbers,
        f"ภาพ {numbers['old_photos']} ภาพถ่ายไว้นานก่อนช่วงที่รายงาน และ {numbers['far_photos']} ภาพถ่ายไกลจากแปลง",
        f"{numbers['old_photos']} photo(s) were taken long before the period reported and "
        f"{numbers['far_photos']} far from the plot.",
        tuple(findings),
    )


def days_before(taken_at: datetime | None, period_start: date) -> float | None:
    """Days from ``taken_at`` to the start of ``period_start`` (Asia/Bangkok midnight); negative when after."""
    if taken_at is None:
        return None
    start = datetime(period_start.year, period_start.month, period_start.day, tzinfo=BANGKOK)
    return (start - taken_at.astimezone(UTC)).total_seconds() / 86400
