"""khoknongna.spatial.overlaps: overlap of two plots, pure and through PostGIS with the GiST index."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from shapely import Polygon
from sqlalchemy import Engine, text

from khoknongna.spatial.overlaps import (
    MAX_OVERLAPS_LISTED,
    OVERLAPS_FOR_PLOT_SQL,
    overlap_between,
    overlap_scan,
    overlaps_check,
    overlaps_for_plot,
)
from tests.spatial.shapes import polygon, rect, ring

A = rect(0, 0, 40, 40)
B = rect(20, 0, 40, 40)  # 20 m east of A: they share a 20 m x 40 m strip, 800 m², half of each
TOUCHING = rect(40, 0, 40, 40)  # shares A's east side, no area
SLIVER = rect(-39.5, 0, 40, 40)  # west of A, 0.5 m into it along 40 m: 20 m², a GPS disagreement on a bund
BOWTIE = ring([(100, 0), (140, 40), (140, 0), (100, 40)])


def test_squares_offset_by_20_m_overlap_800_m2_half_of_each() -> None:
    o = overlap_between(polygon(A), polygon(B))
    assert o.overlap_m2 == pytest.approx(800, rel=0.001)
    assert o.share_a == pytest.approx(0.5, abs=0.001)
    assert o.share_b == pytest.approx(0.5, abs=0.001)
    assert not o.ignored


def test_touching_squares_do_not_overlap() -> None:
    o = overlap_between(polygon(A), polygon(TOUCHING))
    assert o.overlap_m2 == pytest.approx(0, abs=0.01)
    assert o.ignored_because == "area"


def test_thin_sliver_along_a_shared_bund_is_ignored() -> None:
    o = overlap_between(polygon(A), polygon(SLIVER))
    assert o.overlap_m2 == pytest.approx(20, rel=0.01)
    assert o.ignored_because == "width"


def test_overlap_of_a_large_plot_with_a_crumb_of_it_is_ignored_below_one_percent() -> None:
    big = rect(0, 0, 155, 155)  # 15 rai
    neighbour = rect(150, 0, 40, 40)  # 5 m x 40 m = 200 m² inside: 12.5 % of the neighbour, so reported
    assert not overlap_between(polygon(big), polygon(neighbour)).ignored


def test_overlaps_check_names_the_other_plot_and_its_share() -> None:
    o = overlap_between(polygon(A), polygon(B), plot_a=7, plot_b=9)
    result = overlaps_check(9, [o])
    assert result.status == "overlaps"
    assert result.findings[0].numbers["other_plot"] == 7
    assert result.numbers["total_overlap_m2"] == pytest.approx(800, rel=0.001)
    assert "ทับแปลง 7 800 ตร.ม." in result.message_th


def test_overlaps_check_lists_the_first_fifty_overlaps_and_says_there_are_more() -> None:
    overlaps = [overlap_between(polygon(A), polygon(B), plot_a=1, plot_b=other) for other in range(2, 62)]
    result = overlaps_check(1, overlaps)
    assert result.numbers["count"] == MAX_OVERLAPS_LISTED == 50
    assert result.numbers["more"] is True
    assert [f.numbers["other_plot"] for f in result.findings] == list(range(2, 52))
    assert result.message_en.startswith("This plot overlaps more than 50 other plots (the first 50 listed)")
    assert result.message_th.startswith("แปลงนี้ทับกับแปลงอื่นมากกว่า 50 แปลง")


def test_overlaps_check_without_overlaps_is_ok() -> None:
    o = overlap_between(polygon(A), polygon(TOUCHING), plot_a=1, plot_b=2)
    assert overlaps_check(1, [o]).status == "ok"


# --- PostGIS ---------------------------------------------------------------------------------------------------


@pytest.fixture
def plots(db: Engine) -> Engine:
    """The plot register, empty: the ``plots`` view over the entities of list ``plots``, in projects 1 and 2."""
    with db.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name) OVERRIDING SYSTEM VALUE VALUES (2, 'อีกโครงการ')"))
        conn.execute(text("INSERT INTO datasets (project_id, name) VALUES (1, 'plots'), (2, 'plots')"))
    return db


def add(engine: Engine, entity_id: int, coords: Sequence[tuple[float, float]], project_id: int = 1) -> None:
    """Register a plot with this boundary as entity ``entity_id`` of the project's list ``plots``."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO entities (id, dataset_id, uuid, label, version, geometry) OVERRIDING SYSTEM VALUE"
                " SELECT :id, d.id, gen_random_uuid()::text, 'plot ' || :id, 1,"
                "        ST_Force4D(ST_GeomFromText(:wkt, 4326))"
                " FROM datasets d WHERE d.project_id = :project AND d.name = 'plots'"
            ),
            {"id": entity_id, "project": project_id, "wkt": Polygon(coords).wkt},
        )


def test_overlaps_for_plot_finds_the_800_m2_overlap_in_postgis(plots: Engine) -> None:
    add(plots, 1, A)
    add(plots, 2, B)
    with plots.connect() as conn:
        found = overlaps_for_plot(conn, 1)
    assert [(o.plot_a, o.plot_b) for o in found] == [(1, 2)]
    assert found[0].overlap_m2 == pytest.approx(800, rel=0.001)
    assert found[0].share_a == pytest.approx(0.5, abs=0.001)
    assert found[0].share_b == pytest.approx(0.5, abs=0.001)


def test_overlap_scan_reports_each_pair_once_and_ignores_touching_and_slivers(plots: Engine) -> None:
    add(plots, 1, A)
    add(plots, 2, B)
    add(plots, 3, TOUCHING)  # touches B's inside: overlaps B by 20 m x 40 m as well
    add(plots, 4, SLIVER)
    with plots.connect() as conn:
        found = overlap_scan(conn)
        with_ignored = overlap_scan(conn, include_ignored=True)
    assert [(o.plot_a, o.plot_b) for o in found] == [(1, 2), (2, 3)]
    assert [(o.plot_a, o.plot_b, o.ignored_because) for o in with_ignored if o.ignored] == [(1, 4, "width")]


def test_postgis_and_shapely_agree_on_the_overlap_area(plots: Engine) -> None:
    add(plots, 1, A)
    add(plots, 2, B)
    with plots.connect() as conn:
        (db_overlap,) = overlap_scan(conn)
    assert db_overlap.overlap_m2 == pytest.approx(overlap_between(polygon(A), polygon(B)).overlap_m2, rel=1e-4)


def test_overlap_scan_survives_a_bowtie_plot(plots: Engine) -> None:
    add(plots, 1, A)
    add(plots, 2, B)
    add(plots, 5, BOWTIE)
    add(plots, 6, rect(100, 0, 40, 40))
    with plots.connect() as conn:
        found = overlap_scan(conn)
    assert [(o.plot_a, o.plot_b) for o in found] == [(1, 2), (5, 6)]
    assert found[1].overlap_m2 == pytest.approx(800, rel=0.01)


def test_plots_of_different_projects_are_not_compared(plots: Engine) -> None:
    add(plots, 1, A, project_id=1)
    add(plots, 2, B, project_id=2)
    with plots.connect() as conn:
        assert overlap_scan(conn) == []
        assert overlaps_for_plot(conn, 1) == []


def test_overlap_scan_of_one_project(plots: Engine) -> None:
    add(plots, 1, A, project_id=1)
    add(plots, 2, B, project_id=1)
    add(plots, 3, A, project_id=2)
    add(plots, 4, B, project_id=2)
    with plots.connect() as conn:
        assert [(o.plot_a, o.plot_b) for o in overlap_scan(conn, project_id=2)] == [(3, 4)]


def test_overlaps_for_plot_uses_the_gist_index(plots: Engine) -> None:
    with plots.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO entities (id, dataset_id, uuid, label, version, geometry) OVERRIDING SYSTEM VALUE"
                " SELECT g, d.id, gen_random_uuid()::text, 'plot', 1,"
                "        ST_Force4D(ST_MakeEnvelope(100 + g * 0.001, 15, 100.0004 + g * 0.001, 15.0004, 4326))"
                " FROM generate_series(1, 2000) g, datasets d WHERE d.project_id = 1"
            )
        )
        conn.execute(text("ANALYZE entities"))
        plan = conn.execute(
            text("EXPLAIN " + OVERLAPS_FOR_PLOT_SQL.text), {"entity_id": 5, "min_area_m2": 10.0, "limit": 51}
        ).scalars()
        assert "ix_entities_geometry" in "\n".join(plan)


def test_a_plot_drawn_where_many_lie_measures_only_one_more_than_it_lists(plots: Engine) -> None:
    for entity_id in range(1, 81):
        add(plots, entity_id, A)  # 80 plots drawn on one spot
    with plots.connect() as conn:
        found = overlaps_for_plot(conn, 80)
        plan = conn.execute(
            text("EXPLAIN (ANALYZE, FORMAT JSON) " + OVERLAPS_FOR_PLOT_SQL.text),
            {"entity_id": 80, "min_area_m2": 10.0, "limit": MAX_OVERLAPS_LISTED + 1},
        ).scalar_one()
    assert [o.plot_b for o in found] == list(range(1, 52))  # the earliest registered first

    def measured(node: dict) -> list[int]:
        here = [node["Actual Rows"]] if node.get("Node Type") == "CTE Scan" else []
        return here + [rows for child in node.get("Plans", []) for rows in measured(child)]

    assert measured(plan[0]["Plan"]) == [51]  # of the 79 overlapping plots, 51 were measured
