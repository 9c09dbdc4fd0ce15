"""Photo hashing and EXIF reading (``khoknongna/photos.py``) and the band probes of the near-duplicate search."""

from __future__ import annotations

from datetime import datetime

from khoknongna.photos import BANGKOK, PhotoRules, read_photo_bytes
from khoknongna.storage.audit import band_probes
from tests.photos import FIRST_VIEW, SECOND_VIEW, cropped_copy, frame, jpeg, resized_copy, scene


def distance(a: bytes, b: bytes) -> int:
    x, y = read_photo_bytes(a).phash, read_photo_bytes(b).phash
    assert x is not None and y is not None
    return bin((x ^ y) & 0xFFFF_FFFF_FFFF_FFFF).count("1")


def test_a_resized_copy_is_within_the_threshold_and_another_view_is_far_beyond() -> None:
    photo = jpeg(frame(scene(1), FIRST_VIEW))
    assert distance(photo, resized_copy(photo, 0.5, 70)) <= 2
    assert distance(photo, cropped_copy(photo, 0.05)) <= PhotoRules.max_distance
    assert distance(photo, jpeg(frame(scene(1), SECOND_VIEW))) > 2 * PhotoRules.max_distance


def test_exif_time_and_position_are_read() -> None:
    info = read_photo_bytes(jpeg(frame(scene(2), FIRST_VIEW), taken=datetime(2026, 11, 5, 9, 30), lonlat=(102.8, 16.4)))
    assert info.taken_at == datetime(2026, 11, 5, 9, 30, tzinfo=BANGKOK)
    assert (round(info.lon, 5), round(info.lat, 5)) == (102.8, 16.4)


def test_a_file_that_is_not_an_image_has_a_problem_and_no_hash() -> None:
    info = read_photo_bytes(b"not a jpeg")
    assert info.phash is None and info.problem


def test_band_probes_cover_every_value_within_the_radius() -> None:
    probes = band_probes(0, 2)
    assert [len(p) for p in probes] == [137, 137, 137, 137]
    assert 0b11 in probes[0] and 0b111 not in probes[0]
