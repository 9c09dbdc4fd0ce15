"""A submission's answers as a supervisor reads them: in the XForm's order (not the database's), groups and repeats
nested as in the form, Thai labels first with English after, choices by their labels, area codes by their names
and geo answers as coordinates with their accuracy. Shown with the real plot survey of the form pack."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from tests.web.conftest import Plot

ROW = re.compile(r'<tr[^>]*data-path="([^"]+)" data-depth="(\d+)"[^>]*>(.*?)</tr>', re.S)


def answers_of(client, db: Engine, plot: Plot) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    """``(path, depth, text of the row)`` of every line of the answers, top to bottom."""
    with db.connect() as conn:
        survey = conn.execute(
            text("SELECT id FROM submissions WHERE instance_id = :id"), {"id": plot.survey_instance_id}
        ).scalar_one()
    response = client.get(f"/submissions/{survey}")
    assert response.status_code == 200
    table = response.get_data(as_text=True).split('<table class="answers">')[1].split("</table>")[0]
    return [
        (path, int(depth), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip())
        for path, depth, row in ROW.findall(table)
    ]


def test_a_plot_surveys_answers_come_in_the_order_of_the_form(two_districts, signed_in, db: Engine) -> None:
    rows = answers_of(signed_in("malee", "department"), db, two_districts["mine"])
    paths = [path for path, _, _ in rows]

    in_form_order = [
        "start",
        "end",
        "survey_kind",
        "programme",
        "model",
        "size_class",
        "owner",
        "owner/owner_name",
        "owner/province",
        "owner/amphoe",
        "owner/tambon",
        "plot_label",
        "boundary",
        "location",
        "has_parts",
        "parts",
        "parts/part_type",
        "photo_overview",
        "notes",
    ]
    shown = [p for p in paths if p in in_form_order]
    assert sorted(set(shown), key=shown.index) == in_form_order


def test_groups_and_repeats_are_nested_as_in_the_form(two_districts, signed_in, db: Engine) -> None:
    rows = answers_of(signed_in("malee", "department"), db, two_districts["mine"])
    depth = {path: d for path, d, _ in rows}
    repeat_headings = [row for path, _, row in rows if path == "parts"]

    assert depth["owner"] == 0 and depth["owner/owner_name"] == 1
    assert depth["parts"] == 0 and depth["parts/part_shape"] == 1
    assert repeat_headings[0].startswith("องค์ประกอบของแปลง (โคก หนอง นา) #1")
    assert repeat_headings[1].startswith("องค์ประกอบของแปลง (โคก หนอง นา) #2")


def test_answers_show_thai_labels_first_and_choices_by_their_labels(two_districts, signed_in, db: Engine) -> None:
    rows = {path: row for path, _, row in answers_of(signed_in("malee", "department"), db, two_districts["mine"])}

    assert rows["programme"].startswith("พื้นที่ที่ดำเนินกิจกรรม (โครงการ) Programme the plot belongs to")
    assert "โครงการภายใต้งบประมาณเงินกู้โควิด-๑๙ เพื่อฟื้นฟูเศรษฐกิจฐานราก" in rows["programme"]
    assert "ครัวเรือนต้นแบบ (HLM)" in rows["model"]
    part_types = [
        row
        for path, _, row in answers_of(signed_in("somsri", "department"), db, two_districts["mine"])
        if path == "parts/part_type"
    ]
    assert "หนอง" in part_types[0] and "นา" in part_types[1]


def test_area_codes_are_shown_by_their_names(two_districts, signed_in, db: Engine) -> None:
    rows = {path: row for path, _, row in answers_of(signed_in("malee", "department"), db, two_districts["mine"])}

    assert "จ.ขอนแก่น" in rows["owner/province"]
    assert "อ.เมืองขอนแก่น จ.ขอนแก่น" in rows["owner/amphoe"]
    assert "ต.ศิลา อ.เมืองขอนแก่น จ.ขอนแก่น" in rows["owner/tambon"]


def test_a_geopoint_is_shown_as_coordinates_and_accuracy(two_districts, signed_in, db: Engine) -> None:
    rows = {path: row for path, _, row in answers_of(signed_in("malee", "department"), db, two_districts["mine"])}

    assert "16.44190, 102.83600 · ±4.8 ม." in rows["location"]
    assert "5 จุด points · ±3.5 ม." in rows["boundary"]


def test_the_plot_page_shows_its_register_entry_with_the_forms_labels_and_names(two_districts, signed_in) -> None:
    client = signed_in("malee", "department")

    html = client.get(f"/plots/{two_districts['mine'].uuid}").get_data(as_text=True)

    rows = {
        name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for name, row in re.findall(r'<tr data-property="([^"]+)">(.*?)</tr>', html, re.S)
    }
    assert list(rows)[:3] == ["programme", "model", "size_class"]  # the form's order, not the alphabet's
    assert rows["model"].startswith("รูปแบบพื้นที่ต้นแบบ Model")
    assert "ครัวเรือนต้นแบบ (HLM)" in rows["model"]
    assert "ต.ศิลา อ.เมืองขอนแก่น จ.ขอนแก่น" in rows["tambon"]
