"""Scoping of the review pages by role and area: a district supervisor sees only their district (another
district's submission, plot, photo and their pages are 404, counts leave them out, a submission without an area
is not theirs), and a gis user reads but cannot review."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from tests.web.conftest import BAN_FANG, MUEANG, World, page_token


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def listed(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)}


def test_a_district_supervisor_gets_404_for_another_districts_submission_plot_and_photo(
    world: World, signed_in
) -> None:
    ban_fang = signed_in("prasit", "district", BAN_FANG)

    assert ban_fang.get(f"/submissions/{world.flagged}").status_code == 404
    assert ban_fang.get(f"/submissions/{world.flagged}/files/activity.jpg").status_code == 404
    assert ban_fang.get(f"/submissions/{world.flagged}/files/activity.jpg?size=thumb").status_code == 404
    assert ban_fang.get(f"/plots/{world.plot_mueang}").status_code == 404
    assert ban_fang.get(f"/submissions/{world.inside}").status_code == 200
    assert ban_fang.get(f"/plots/{world.plot_ban_fang}").status_code == 200


def test_a_district_supervisor_cannot_review_or_comment_on_another_districts_submission(
    world: World, signed_in, db: Engine
) -> None:
    mueang = signed_in("somchai", "district", MUEANG)
    token = page_token(mueang, "/submissions")

    review = mueang.post(f"/submissions/{world.inside}/review", data={"csrf_token": token, "state": "approved"})
    comment = mueang.post(f"/submissions/{world.inside}/comments", data={"csrf_token": token, "body": "x"})

    assert review.status_code == 404 and comment.status_code == 404
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_the_list_and_its_count_leave_out_other_districts_and_submissions_without_an_area(
    world: World, signed_in
) -> None:
    mueang = signed_in("somchai", "district", MUEANG)
    department = signed_in("somsri", "department")

    mine = body(mueang.get("/submissions"))
    everything = body(department.get("/submissions"))

    assert world.flagged in listed(mine)
    assert world.inside not in listed(mine) and world.no_area not in listed(mine)
    assert "ทั้งหมด 2 รายการ" in mine  # the plot survey and the report of 4001
    assert "ทั้งหมด 5 รายการ" in everything and world.no_area in listed(everything)
    assert mueang.get(f"/submissions/{world.no_area}").status_code == 404
    assert department.get(f"/submissions/{world.no_area}").status_code == 200


def test_a_district_supervisor_asking_for_another_district_is_refused(world: World, signed_in) -> None:
    mueang = signed_in("somchai", "district", MUEANG)

    assert mueang.get(f"/submissions?area={BAN_FANG}").status_code == 403
    assert mueang.get("/submissions?area=400101").status_code == 200  # a tambon inside their district


def test_a_province_supervisor_sees_both_districts_of_the_province(world: World, signed_in) -> None:
    khon_kaen = signed_in("wanida", "province", "40")

    html = body(khon_kaen.get("/submissions"))

    assert {world.flagged, world.inside} <= listed(html) and world.no_area not in listed(html)
    assert "ทั้งหมด 4 รายการ" in html


def test_the_audit_trail_of_a_district_supervisor_holds_only_their_district(world: World, signed_in) -> None:
    department = signed_in("somsri", "department")
    token = page_token(department, "/submissions")
    for submission in (world.flagged, world.inside):
        department.post(f"/submissions/{submission}/comments", data={"csrf_token": token, "body": f"ดูแล้ว {submission}"})
    mueang = signed_in("somchai", "district", MUEANG)

    mine, everything = body(mueang.get("/audit")), body(department.get("/audit"))

    assert f"ดูแล้ว {world.flagged}" in mine and f"ดูแล้ว {world.inside}" not in mine
    assert "ทั้งหมด 1 รายการ" in mine
    assert f"ดูแล้ว {world.inside}" in everything and "ทั้งหมด 2 รายการ" in everything


def test_the_plot_page_lists_only_submissions_in_the_users_area(world: World, signed_in) -> None:
    mueang = signed_in("somchai", "district", MUEANG)

    html = body(mueang.get(f"/plots/{world.plot_mueang}"))

    assert f'href="/submissions/{world.flagged}"' in html
    assert f'href="/submissions/{world.inside}"' not in html


def test_a_gis_user_reads_the_pages_without_forms_and_gets_403_on_a_review_post(
    world: World, signed_in, db: Engine
) -> None:
    gis = signed_in("gis", "gis")
    html = body(gis.get(f"/submissions/{world.flagged}"))
    token = page_token(gis, "/submissions")  # the sign-out form's token: the session's own

    review = gis.post(f"/submissions/{world.flagged}/review", data={"csrf_token": token, "state": "approved"})
    explain = gis.post(
        f"/submissions/{world.flagged}/signals/gps_untrusted/explain", data={"csrf_token": token, "reason": "x"}
    )
    comment = gis.post(f"/submissions/{world.flagged}/comments", data={"csrf_token": token, "body": "x"})

    assert 'name="state"' not in html and 'name="body"' not in html and "/explain" not in html
    assert review.status_code == explain.status_code == comment.status_code == 403
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_pages_need_a_signed_in_user(world: World, client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/submissions", f"/submissions/{world.flagged}", f"/plots/{world.plot_mueang}", "/audit"):
        response = client.get(path)
        assert response.status_code == 302 and "/signin" in response.location
