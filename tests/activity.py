"""Activity reports as Collect sends them, with photos and a signature, received when a test says; daily logs."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

from PIL import Image
from sqlalchemy import Engine, text

from tests.collect import CollectClient


def jpeg(shade: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo as a phone sends it: a large JPEG of one colour."""
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 120, 255 - shade)).save(out, "JPEG", quality=90)
    return out.getvalue()


def activity_report(
    collect: CollectClient,
    db: Engine,
    plot: str,
    when: datetime,
    photos: int = 6,
    *,
    month: str = "2026-11",
    owner: str = "นางสมศรี ใจดี",
    activity: str = "เอามื้อสามัคคีขุดคลองไส้ไก่",
    report_date: str = "2026-11-18",
    signed: bool = False,
) -> str:
    """An activity report as Collect sends it (the fields the report reads, ``photos`` JPEG photos with
    captions, a signature when ``signed``), received at ``when``; returns its instanceID."""
    instance_id = f"uuid:{uuid.uuid4()}"
    stem = uuid.uuid4().hex[:8]
    files = {f"{stem}-{i}.jpg": jpeg(40 * i) for i in range(photos)}
    photo_rows = "".join(
        f"<activity_photos><activity_photo>{name}</activity_photo>"
        f"<activity_photo_caption>ภาพที่ถ่าย {i}</activity_photo_caption></activity_photos>"
        for i, name in enumerate(files)
    )
    signature = f"{stem}-signature.png"
    if signed:
        files[signature] = signature_png()
    xml = (
        f'<data id="activity_report" version="2026112101"><report_month>{month}-01</report_month><plot>{plot}</plot>'
        "<programme>covid_loan</programme><model>HLM</model><size_class>1</size_class><other_size_rai/>"
        f"<place><owner_name>{owner}</owner_name><house_no>45/1</house_no><village_no>5</village_no>"
        "<province>40</province><amphoe>4001</amphoe><tambon>400114</tambon><owner_phone>0812345678</owner_phone></place>"
        f"<activity><activity_name>{activity}</activity_name>"
        "<activity_details>ขุดคลองไส้ไก่ยาว 40 เมตร ร่วมกับเครือข่าย</activity_details>"
        "<strategy_5p>place</strategy_5p><sub_strategy>repair</sub_strategy>"
        "<sectors>government people</sectors></activity>"
        f"{photo_rows}<publicity><link_website/><link_facebook>https://facebook.com/knn.kk/posts/1</link_facebook>"
        "<link_video/><link_other/></publicity><reporter>"
        f"<reporter_signature>{signature if signed else ''}</reporter_signature>"
        "<reporter_name>นายนพรัตน์ ทองดี</reporter_name>"
        f"<reporter_position>นักพัฒนาพื้นที่ต้นแบบ</reporter_position><report_date>{report_date}</report_date></reporter>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()
    collect.send(xml, files)
    received(db, instance_id, when)
    return instance_id


def received(db: Engine, instance_id: str, when: datetime) -> None:
    """Make the submission ``instance_id`` look received at ``when`` (its ``created_at``)."""
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE submissions SET created_at = :when WHERE id ="
                " (SELECT submission_id FROM submission_versions WHERE instance_id = :instance_id)"
            ),
            {"when": when, "instance_id": instance_id},
        )


def signature_png() -> bytes:
    """A blank signature as Collect's signature widget saves it (a white 400 x 150 PNG)."""
    out = io.BytesIO()
    Image.new("RGB", (400, 150), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def daily_log(collect: CollectClient, plot: str, day: str, *, signed: bool) -> None:
    """A daily log of ``day`` as Collect sends it, certified (owner's name and signature) when ``signed``."""
    signature = f"{uuid.uuid4().hex[:8]}-owner.png"
    files = {signature: signature_png()} if signed else {}
    xml = (
        f'<data id="daily_log" version="2026112101"><work_date>{day}</work_date>'
        f"<developer_name>นายนพรัตน์ ทองดี</developer_name><plot>{plot}</plot>"
        "<duties>improve_plot natural_farming</duties><duty_other/><work_details>ปลูกแฝกรอบหนองน้ำ</work_details>"
        "<hours>6</hours><problems>ฝนตก</problems><has_photos>no</has_photos><notes/>"
        f"<certification><owner_name>{'นางสมศรี ใจดี' if signed else ''}</owner_name>"
        f"<owner_signature>{signature if signed else ''}</owner_signature></certification>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()
    collect.send(xml, files)
