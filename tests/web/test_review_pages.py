"""The review pages through the app, signed in with a session: the list, a submission's detail, the review and
comment forms, explaining a signal, a plot's page and the audit trail. Data comes through the OpenRosa routes and
the worker (``conftest.world``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.sql import scalar
from tests.web.conftest import World, csrf_token, page_token


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def test_the_list_shows_what_waits_for_review_newest_first_with_flags_and_links(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")

    response = client.get("/submissions")

    html = body(response)
    assert response.status_code == 200
    assert "รายการรอตรวจ" in html and "Submissions to review" in html
    assert "ทั้งหมด 5 รายการ" in html  # two plot surveys and three reports
    newest, *_ = [int(i) for i in __import__("re").findall(r'<tr data-id="(\d+)"', html)]
    assert newest == world.no_area
    flagged_row = html.split(f'<tr data-id="{world.flagged}"')[1].split("</tr>")[0]
    assert '<td class="flags">2</td>' in flagged_row  # evidence outside the plot + GPS accuracy 0
    assert f'href="/submissions/{world.flagged}"' in flagged_row
    inside_row = html.split(f'<tr data-id="{world.inside}"')[1].split("</tr>")[0]
    assert '<td class="">0</td>' in inside_row, "a report inside its plot is not flagged"


def test_an_approved_submission_leaves_the_waiting_list_and_shows_under_its_state(
    world: World, signed_in, db: Engine
) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.inside}")

    client.post(f"/submissions/{world.inside}/review", data={"csrf_token": token, "state": "approved"})

    assert f'data-id="{world.inside}"' not in body(client.get("/submissions"))
    assert f'data-id="{world.inside}"' in body(client.get("/submissions?review_state=approved"))


def test_the_list_pages_by_fifty_with_page_links(world: World, signed_in, db: Engine) -> None:
    with db.begin() as conn:  # 120 more waiting reports: copies of the flagged one's row, as if received earlier
        conn.execute(
            text(
                "INSERT INTO submissions (form_id, instance_id, review_state, area_code, created_at)"
                " SELECT form_id, instance_id || '-' || n, 'received', area_code, created_at - n * interval '1 min'"
                " FROM submissions, generate_series(1, 120) n WHERE id = :id"
            ),
            {"id": world.flagged},
        )
    client = signed_in("somsri", "department")

    first, third = body(client.get("/submissions")), body(client.get("/submissions?page=3"))

    assert "ทั้งหมด 125 รายการ" in first and "หน้า 1/3" in first
    assert 'href="/submissions?page=2" rel="next"' in first
    assert "หน้า 3/3" in third


def test_the_filters_of_the_map_narrow_the_list(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")

    in_mueang = body(client.get("/submissions?area=4001"))
    flagged = body(client.get("/submissions?flag=any&form=activity_report"))

    assert f'data-id="{world.flagged}"' in in_mueang and f'data-id="{world.inside}"' not in in_mueang
    assert f'data-id="{world.no_area}"' not in in_mueang
    assert "ทั้งหมด 1 รายการ" in flagged and f'data-id="{world.flagged}"' in flagged
    assert client.get("/submissions?month=2026-13").status_code == 400


def test_the_detail_shows_answers_with_thai_and_english_labels_photos_geometries_checks_and_signals(
    world: World, signed_in
) -> None:
    client = signed_in("somsri", "department")

    html = body(client.get(f"/submissions/{world.flagged}"))

    assert "ตำแหน่งที่ถ่ายรูป" in html and "Where" in html  # the question's labels, Thai first
    assert "รูปถ่าย #1" in html and "Photos" in html  # the repeat
    assert f'src="/submissions/{world.flagged}/files/activity.jpg?size=thumb"' in html
    assert f'href="/submissions/{world.flagged}/files/activity.jpg"' in html
    assert "<svg" in html and 'class="plot polygon"' in html and "<circle" in html  # plot boundary and the point
    check = html.split('data-rule="evidence_location"')[1].split("</tr>")[0]
    assert "outside" in check and "max_distance_m" in check
    signal = html.split('data-rule="gps_untrusted"')[1].split("</tr>")[0]
    assert "raised" in signal and "อธิบาย" in signal


def test_a_plot_survey_shows_choice_labels_and_its_repeat(world: World, signed_in, db: Engine) -> None:
    survey = scalar(
        db,
        "SELECT s.id FROM submissions s JOIN forms f ON f.id = s.form_id"
        " WHERE f.xml_form_id = 'mini_plot_survey' AND s.area_code = '400101'",
    )
    client = signed_in("somsri", "department")

    html = body(client.get(f"/submissions/{survey}"))

    assert "ขนาดแปลง" in html and "Size class" in html
    assert "1 ไร่" in html and "1 rai" in html
    assert "ส่วนของแปลง #1" in html


def test_a_photo_opens_full_size_and_as_a_thumbnail_with_image_types(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")

    full = client.get(f"/submissions/{world.flagged}/files/activity.jpg")
    thumb = client.get(f"/submissions/{world.flagged}/files/activity.jpg?size=thumb")

    assert full.status_code == 200 and full.content_type == "image/jpeg" and full.data == world.photo
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    assert thumb.status_code == 200 and thumb.content_type == "image/jpeg"
    assert thumb.data[:2] == b"\xff\xd8" and len(thumb.data) < len(world.photo)
    assert client.get(f"/submissions/{world.flagged}/files/other.jpg").status_code == 404
    assert client.get(f"/submissions/{world.flagged}/files/..%2Fx").status_code == 404


def test_setting_has_issues_with_a_reason_writes_the_audit_entry_and_shows_it(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")

    response = client.post(
        f"/submissions/{world.flagged}/review",
        data={"csrf_token": token, "state": "hasIssues", "reason": "จุดถ่ายรูปอยู่นอกแปลง"},
    )

    assert response.status_code == 302 and response.location.endswith(f"/submissions/{world.flagged}")
    html = body(client.get(response.location))
    assert "Review state changed from received to hasIssues" in html
    assert 'id="review-state">มีปัญหา' in html
    history = html.split('id="history"')[1]
    assert "submission.review" in history and "received" in history and "hasIssues" in history
    assert "จุดถ่ายรูปอยู่นอกแปลง" in history
    trail = body(client.get("/audit"))
    assert "submission.review" in trail and "somsri" in trail


def test_has_issues_without_a_reason_is_refused_with_a_clear_error(world: World, signed_in, db: Engine) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")

    response = client.post(f"/submissions/{world.flagged}/review", data={"csrf_token": token, "state": "hasIssues"})

    assert response.status_code == 400
    assert "ต้องระบุเหตุผล" in body(response) and "A reason is required for hasIssues" in body(response)
    with db.connect() as conn:
        state = conn.execute(text("SELECT review_state FROM submissions WHERE id = :id"), {"id": world.flagged})
        assert state.scalar_one() == "received"
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_a_post_without_the_csrf_token_is_refused(world: World, signed_in, db: Engine) -> None:
    client = signed_in("somsri", "department")

    response = client.post(f"/submissions/{world.flagged}/review", data={"state": "approved"})

    assert response.status_code == 400
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_a_comment_is_listed_and_kept_in_the_audit_log(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")

    response = client.post(
        f"/submissions/{world.flagged}/comments", data={"csrf_token": token, "body": "โทรถามเจ้าของแปลงแล้ว"}
    )

    html = body(client.get(response.location))
    assert "โทรถามเจ้าของแปลงแล้ว" in html.split('id="comments"')[1].split('id="history"')[0]
    assert "submission.comment" in html.split('id="history"')[1]


def test_explaining_a_signal_stops_it_counting_and_is_in_the_audit_log(world: World, signed_in, db: Engine) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")

    response = client.post(
        f"/submissions/{world.flagged}/signals/gps_untrusted/explain",
        data={"csrf_token": token, "reason": "โทรศัพท์รุ่นเก่ารายงานความแม่นยำเป็น 0"},
    )

    html = body(client.get(response.location))
    assert "Signal gps_untrusted explained" in html
    assert "signal.explain" in html.split('id="history"')[1]
    row = body(client.get("/submissions")).split(f'<tr data-id="{world.flagged}"')[1].split("</tr>")[0]
    assert '<td class="flags">1</td>' in row
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM signal_explanations")).scalar_one() == 1


def test_the_plot_page_shows_its_register_entry_boundary_checks_submissions_and_versions(
    world: World, signed_in
) -> None:
    client = signed_in("somsri", "department")

    html = body(client.get(f"/plots/{world.plot_mueang}"))

    assert "owner_name" in html and "400101" in html and "ต.ในเมือง" in html
    assert 'class="plot polygon"' in html
    assert 'data-rule="plot_area"' in html and "area_m2" in html
    assert f'href="/submissions/{world.flagged}"' in html
    assert "ฉบับที่" in html


def test_the_audit_trail_is_newest_first_and_no_route_edits_it(world: World, signed_in, db: Engine) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")
    client.post(f"/submissions/{world.flagged}/review", data={"csrf_token": token, "state": "approved"})
    client.post(f"/submissions/{world.flagged}/comments", data={"csrf_token": token, "body": "ok"})

    html = body(client.get("/audit"))

    assert html.index("submission.comment") < html.index("submission.review")
    assert 'method="post"' not in html.split('class="audit"')[1]
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/audit").status_code == 405


def test_the_audit_log_cannot_be_updated_or_deleted_in_the_database(world: World, signed_in, db: Engine) -> None:
    client = signed_in("somsri", "department")
    token = page_token(client, f"/submissions/{world.flagged}")
    client.post(f"/submissions/{world.flagged}/review", data={"csrf_token": token, "state": "approved"})

    for statement in ("UPDATE audit_log SET after = '{}'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="audit trail"), db.begin() as conn:
            conn.execute(text(statement))


def test_the_forms_carry_the_csrf_token(world: World, signed_in) -> None:
    client = signed_in("somsri", "department")
    html = body(client.get(f"/submissions/{world.flagged}"))
    assert csrf_token(html)
    assert html.count('name="csrf_token"') >= 4  # sign-out, review, explain, comment


def test_a_reviewer_gets_an_edit_link_and_a_gis_user_neither_the_link_nor_the_edit_page(
    world: World, signed_in
) -> None:
    edit = f'href="/submissions/{world.inside}/edit"'
    reviewer = signed_in("somsri", "department")
    gis = signed_in("gis", "gis")

    assert edit in body(reviewer.get(f"/submissions/{world.inside}"))
    assert edit not in body(gis.get(f"/submissions/{world.inside}"))
    assert gis.get(f"/submissions/{world.inside}/edit").status_code == 403
