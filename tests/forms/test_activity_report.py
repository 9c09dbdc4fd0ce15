"""The monthly activity report copies the items of the report form in seed 002 one for one, adds the 5P
strategy and the 7 sectors, and asks for at least 6 photos on the phone while the server stores whatever
arrives.

Source: seed 002, แบบรายงานโครงการพัฒนาพื้นที่ต้นแบบ… (items ๑–๖ and the signature block); DOMAIN.md (5P, 7 sectors).
"""

from __future__ import annotations

import copy

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna.forms_xlsform import bundled_media
from khoknongna.publishing import publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.forms.test_form_pack import plots_csv
from tests.forms.xforms import NS, XF, binds, choices, control, conversion, label, xform, xlsform_bytes
from tests.instances import build_instance, jpeg

#: Every blank of the seed 002 report form -> the field that answers it.
SEED_002_ITEMS = {
    "อำเภอ (หัวแบบ)": "/data/place/amphoe",
    "จังหวัด (หัวแบบ)": "/data/place/province",
    "ประจำเดือน … พ.ศ. …": "/data/report_month",
    "๑. พื้นที่ที่ดำเนินกิจกรรม (โครงการ)": "/data/programme",
    "๑. HLM / CLM": "/data/model",
    "๒. ขนาดพื้นที่ดำเนินการ": "/data/size_class",
    "๒. อื่นๆ (ระบุ) … ไร่": "/data/other_size_rai",
    "๓. ชื่อเจ้าของแปลง": "/data/place/owner_name",
    "๓. บ้านเลขที่": "/data/place/house_no",
    "๓. หมู่ที่": "/data/place/village_no",
    "๓. ตำบล": "/data/place/tambon",
    "๓. อำเภอ": "/data/place/amphoe",
    "๓. จังหวัด": "/data/place/province",
    "๓. เบอร์โทร": "/data/place/owner_phone",
    "๔. ชื่อกิจกรรม": "/data/activity/activity_name",
    "๔. รายละเอียดกิจกรรม": "/data/activity/activity_details",
    "๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)": "/data/activity_photos/activity_photo",
    "๖. Link website": "/data/publicity/link_website",
    "๖. facebook": "/data/publicity/link_facebook",
    "๖. clip vdo": "/data/publicity/link_video",
    "๖. อื่นๆ": "/data/publicity/link_other",
    "ลงชื่อ … ผู้รายงาน": "/data/reporter/reporter_signature",
    "(ชื่อผู้รายงาน)": "/data/reporter/reporter_name",
    "ตำแหน่ง": "/data/reporter/reporter_position",
    "วันที่ … เดือน … พ.ศ. …": "/data/reporter/report_date",
}


@pytest.fixture(scope="module")
def report() -> etree._Element:
    return xform("activity_report")


@pytest.mark.parametrize("item", SEED_002_ITEMS)
def test_every_item_of_the_seed_002_report_form_has_its_field(report: etree._Element, item: str) -> None:
    assert SEED_002_ITEMS[item] in binds(report)


def test_the_numbered_items_carry_the_seed_wording(report: etree._Element) -> None:
    assert label(report, "/data/programme") == "๑. พื้นที่ที่ดำเนินกิจกรรม"
    assert label(report, "/data/size_class") == "๒. ขนาดพื้นที่ดำเนินการ"
    assert label(report, "/data/place") == "๓. สถานที่ดำเนินการ"
    assert label(report, "/data/activity") == "๔. กิจกรรมที่ดำเนินการ"
    assert label(report, "/data/activity_photos") == "๕. ภาพกิจกรรม (อย่างน้อย ๖ ภาพ)"
    assert label(report, "/data/publicity").startswith("๖. ช่องทางประชาสัมพันธ์")


def test_the_photos_are_a_repeat_of_required_images(report: etree._Element) -> None:
    b = binds(report)

    assert report.find(".//h:body//x:repeat[@nodeset='/data/activity_photos']", NS) is not None
    assert b["/data/activity_photos/activity_photo"]["type"] == "binary"
    assert b["/data/activity_photos/activity_photo"]["required"] == "true()"


def test_the_phone_refuses_to_finish_the_report_with_fewer_than_6_photos(report: etree._Element) -> None:
    check = binds(report)["/data/photos_checked"]

    assert check["required"] == "true()"
    assert check["constraint"].replace(" ", "") == "count(/data/activity_photos/activity_photo)>=6"
    assert control(report, "/data/photos_checked").tag == f"{{{XF}}}trigger"  # a question the phone must answer


def test_the_activity_is_classed_by_5p_strategy_sub_strategy_and_the_7_sectors(report: etree._Element) -> None:
    sub = control(report, "/data/activity/sub_strategy").find("x:itemset", NS).get("nodeset").replace(" ", "")

    assert choices(report, "strategy") == ["place", "people", "product", "promotion", "pass_on"]
    assert "[strategy=/data/activity/strategy_5p]" in sub
    assert choices(report, "sector") == [
        "government",
        "academia",
        "religion",
        "people",
        "private",
        "civil_society",
        "media",
    ]


def test_the_plot_details_are_filled_in_from_the_chosen_plot(report: etree._Element) -> None:
    setvalues = {s.get("ref") for s in control(report, "/data/plot").iterfind("x:setvalue", NS)}

    assert {"/data/programme", "/data/place/owner_name", "/data/place/tambon", "/data/place/owner_phone"} <= setvalues


def test_the_server_stores_a_report_with_only_two_photos(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    services = app.extensions["knn"]
    publish_form(
        services.engine,
        services.blobs,
        settings,
        "activity_report.xlsx",
        xlsform_bytes("activity_report"),
        offered_media=bundled_media(),
    )
    built = build_instance(conversion("activity_report").xform, {**bundled_media(), "plots.csv": plots_csv()})
    root = etree.fromstring(built.xml)
    first = root.find("activity_photos")
    second = copy.deepcopy(first)
    second.find("activity_photo").text = "1779321609999.jpg"
    first.addnext(second)
    files = {**built.attachments, "1779321609999.jpg": jpeg(99)}
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    responses = collect.submit(xml, files)

    assert responses[-1].status_code == 201, responses[-1].data
    with db.connect() as conn:
        photos = conn.execute(
            text(
                "SELECT a.name FROM submission_attachments a JOIN submission_versions v "
                "ON v.id = a.submission_version_id WHERE v.instance_id = :id AND a.name LIKE '%.jpg' "
                "AND a.blob_sha256 IS NOT NULL"
            ),
            {"id": built.instance_id},
        ).scalars()
        stored = set(photos)
    assert len(root.findall("activity_photos")) == 2
    assert {first.findtext("activity_photo"), "1779321609999.jpg"} <= stored
