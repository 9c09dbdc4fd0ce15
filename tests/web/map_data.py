"""Plots and submissions in two districts of Khon Kaen for the map tests, sent as ODK Collect sends them.

District 4001 (Mueang Khon Kaen, tambon 400114) and district 4002 (Ban Fang, tambon 400201) each get one plot
survey: a registered plot (its boundary in the register) and a submission with a point, traces and shapes. The
two plots lie 200 m apart, so that one tile at any zoom level holds both.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.spatial.results import CheckResult
from khoknongna.storage.checks import save_results
from tests.collect import CollectClient
from tests.plots import DLAT, DLON, LAT, LON, plot_xml, ring

MUEANG, BAN_FANG = "400114", "400201"


@dataclass(frozen=True)
class Sent:
    """A plot survey sent: the plot's UUID, the submission's id, its tambon."""

    plot_uuid: str
    submission_id: int
    tambon: str


def send_plot(collect: CollectClient, db: Engine, tambon: str, east_m: float = 0.0) -> Sent:
    """Send a plot survey registering a 1-rai plot ``east_m`` metres east of the reference plot in ``tambon``."""
    plot_uuid = str(uuid.uuid4())
    instance_id = f"uuid:{uuid.uuid4()}"
    lon = LON + east_m / (111_320.0 * math.cos(math.radians(LAT)))
    xml = plot_xml(instance_id, plot_id=plot_uuid, tambon=tambon, boundary=ring(LAT, lon, DLAT, DLON))
    response = collect.submit(xml, {"1790000000001.jpg": b"\xff\xd8\xff\xd9"})[-1]
    assert response.status_code == 201, response.get_data(as_text=True)
    with db.connect() as conn:
        submission_id = conn.execute(
            text("SELECT submission_id FROM submission_versions WHERE instance_id = :i"), {"i": instance_id}
        ).scalar_one()
    return Sent(plot_uuid, submission_id, tambon)


def two_districts(app: Flask, collect: CollectClient, db: Engine) -> tuple[Sent, Sent]:
    """One plot survey in district 4001 and one in 4002, 200 m apart."""
    return send_plot(collect, db, MUEANG), send_plot(collect, db, BAN_FANG, east_m=200.0)


def flag_plot(db: Engine, plot_uuid: str, status: str = "oversized") -> None:
    """Store a ``plot_area`` check result of ``status`` for the plot."""
    with db.begin() as conn:
        entity_id = conn.execute(text("SELECT entity_id FROM plots WHERE uuid = :u"), {"u": plot_uuid}).scalar_one()
        result = CheckResult("plot_area", 1, status, {}, "ทดสอบ", "test")
        save_results(conn, [result], entity_id=entity_id, checked_version=1)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile ``(z, x, y)`` holding the point (Web Mercator)."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, x, y
