"""khoknongna.spatial.evidence: are a submission's geopoints in the plot, near it, or how far outside?"""

from __future__ import annotations

import pytest
from pyproj import Geod
from shapely import Polygon

from khoknongna.spatial.evidence import EvidencePoint, distance_outside_m, evidence_check, place_point
from khoknongna.spatial.odk_geo import parse_odk_geo
from tests.spatial.shapes import ll, polygon, rect

PLOT = polygon(rect(0, 0, 40, 40))


def point(x_m: float, y_m: float, accuracy: float = 4.0, name: str = "photo_point") -> EvidencePoint:
    lon, lat = ll(x_m, y_m)
    return EvidencePoint(name, lon, lat, accuracy)


def test_point_inside_the_plot_is_inside() -> None:
    assert place_point(point(20, 20), PLOT).status == "inside"


def test_point_100_m_east_of_the_boundary_is_outside_by_100_m() -> None:
    placed = place_point(point(140, 20), PLOT)
    assert placed.status == "outside"
    assert placed.distance_m == pytest.approx(100, abs=2)


def test_point_beyond_the_north_east_corner_is_measured_to_the_corner() -> None:
    # 30 m east and 40 m north of the corner: 50 m away.
    assert distance_outside_m(*ll(70, 80), PLOT) == pytest.approx(50, abs=0.5)


def test_point_3_m_outside_with_4_m_accuracy_is_near() -> None:
    placed = place_point(point(43, 20, accuracy=4.0), PLOT)
    assert placed.status == "near"
    assert placed.slack_m == 9.0


def test_point_12_m_outside_with_4_m_accuracy_is_outside() -> None:
    assert place_point(point(52, 20, accuracy=4.0), PLOT).status == "outside"


def test_poor_accuracy_allows_a_wider_slack() -> None:
    assert place_point(point(52, 20, accuracy=10.0), PLOT).status == "near"


def test_point_west_of_102_degrees_is_measured_in_utm_zone_47() -> None:
    # A 40 m plot near Chiang Mai (98.98° E) and a point 100 m west of it.
    geod = Geod(ellps="WGS84")
    lon0, lat0 = 98.9853, 18.7883
    east, _, _ = geod.fwd(lon0, lat0, 90, 40)
    _, north, _ = geod.fwd(lon0, lat0, 0, 40)
    west, _, _ = geod.fwd(lon0, lat0 + (north - lat0) / 2, 270, 100)
    plot = Polygon([(lon0, lat0), (east, lat0), (east, north), (lon0, north)])
    assert distance_outside_m(west, lat0 + (north - lat0) / 2, plot) == pytest.approx(100, abs=0.5)


def test_submission_status_is_its_worst_point() -> None:
    result = evidence_check([point(20, 20), point(43, 20), point(140, 20, name="photo_3")], PLOT)
    assert result.status == "outside"
    assert (result.numbers["inside"], result.numbers["near"], result.numbers["outside"]) == (1, 1, 1)
    assert result.numbers["max_distance_m"] == pytest.approx(100, abs=2)
    outside = [f for f in result.findings if f.code == "outside"]
    assert outside[0].numbers["point"] == "photo_3"
    assert "photo_3 อยู่นอกแปลง 100.0 ม." in result.message_th


def test_all_points_inside_is_inside() -> None:
    assert evidence_check([point(1, 1), point(39, 39)], PLOT).status == "inside"


def test_submission_without_points_cannot_be_checked() -> None:
    assert evidence_check([], PLOT).status == "no_points"


def test_evidence_point_from_an_odk_geopoint() -> None:
    lon, lat = ll(20, 20)
    geometry = parse_odk_geo("geopoint", f"{lat:.7f} {lon:.7f} 161.0 4.8").geometry
    assert geometry is not None
    p = EvidencePoint.from_odk("location", geometry)
    assert p.accuracy_m == 4.8
    assert place_point(p, PLOT).status == "inside"
