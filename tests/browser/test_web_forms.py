"""Web forms in a real browser at a phone's size: ODK Web Forms from node_modules fills in the daily log through
an app-user link and sends it through the same ingest as Collect; a supervisor edits a plot survey."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, text

from khoknongna.accounts import create_app_user
from khoknongna.publishing import publish_bundled_forms
from khoknongna.server.app import create_app
from khoknongna.settings import Settings
from tests.browser.conftest import phone_options, screenshot, sign_in, watched_tab
from tests.collect import CollectClient
from tests.photos import FIRST_VIEW, frame, jpeg, scene
from tests.plots import plot_xml
from tests.web.map_data import MUEANG, send_plot
from tests.web.support import sign_in as web_sign_in

PHONE = {"width": 390, "height": 844}
#: The base map the app is configured with here (KNN_BASEMAP_URL); the phone answers its tiles itself.
BASEMAP = "https://tiles.knn.test/{z}/{x}/{y}.png"
#: A 1x1 PNG tile.
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f1a0e20000000049454e44ae426082"
)
#: Where the phone stands: the reference plot of tests/plots.py, in Khon Kaen.
HERE = {"latitude": 16.4419, "longitude": 102.8359, "accuracy": 5}


@pytest.fixture
def basemap() -> str | None:
    """The app's base map (a test parametrizes it to ``None`` for a server without one)."""
    return BASEMAP


@pytest.fixture
def accept_content_length(settings: Settings) -> int:
    """The bytes per POST the app accepts (KNN_ACCEPT_CONTENT_LENGTH; a test parametrizes it lower)."""
    return settings.accept_content_length


@pytest.fixture
def app(settings: Settings, db: Engine, basemap: str | None, accept_content_length: int) -> Flask:
    """The app, its base map set to ``basemap`` and its accepted length to ``accept_content_length``."""
    update = {"basemap_url": basemap, "accept_content_length": accept_content_length}
    return create_app(settings.model_copy(update=update), engine=db)


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized ``watched_tab`` standing at ``HERE`` that gets the base map's tiles."""
    with watched_tab(browser, live_server, **phone_options(PHONE, HERE)) as tab:
        cors = {"Access-Control-Allow-Origin": "*"}
        tab.context.route(
            BASEMAP.split("{")[0] + "**", lambda route: route.fulfill(body=TILE, content_type="image/png", headers=cors)
        )
        yield tab


@pytest.fixture
def elsewhere(phone: Page, live_server: str) -> list[str]:
    """The addresses of the requests the phone sends to other servers than this one, as they are sent."""
    urls: list[str] = []
    phone.on("request", lambda r: r.url.startswith((live_server, "data:")) or urls.append(r.url))
    return urls


@pytest.fixture
def forms(app: Flask, settings: Settings) -> None:
    services = app.extensions["knn"]
    publish_bundled_forms(services.engine, services.blobs, settings, progress=lambda _: None)


@pytest.fixture
def app_user(db: Engine) -> tuple[int, str]:
    """An app user of district 4001: (id, token)."""
    with db.begin() as conn:
        return create_app_user(conn, 1, "นพต. สมหญิง", "4001")


def open_form(tab: Page, path: str) -> None:
    """Open a web form and wait until ODK Web Forms has loaded it."""
    tab.goto(path)
    tab.wait_for_selector(".form-initialization-status.ready", state="attached", timeout=30000)


def question(tab: Page, label: str):
    """The container of the question labelled ``label``."""
    exact = tab.locator("label.required, .control-text label").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return tab.locator(".question-container").filter(has=exact).first


def choose_image(tab: Page, label: str, jpeg: bytes, name: str) -> None:
    """Answer an image question through the browser's file chooser."""
    with tab.expect_file_chooser() as chooser:
        question(tab, label).get_by_role("button").first.click()
    chooser.value.set_files({"name": name, "mimeType": "image/jpeg", "buffer": jpeg})
    expect(question(tab, label).locator("img")).to_be_visible()  # the preview: the photo is attached


def fill_daily_log(tab: Page, plot_label: str, photo: bytes, signature: bytes | None = None) -> None:
    """Fill in the daily log as a field developer would on the phone (the signature photo is ``photo`` unless
    given)."""
    tab.get_by_label("ชื่อนักพัฒนาพื้นที่ต้นแบบ (นพต.)").fill("นายสมชาย ขยันดี")
    question(tab, "แปลงพื้นที่ต้นแบบ").locator(".p-select").click()
    tab.get_by_role("option", name=plot_label).click()
    tab.get_by_text("เป็นวิทยากรประจำฐานการเรียนรู้เพื่อการพึ่งตนเอง").click()
    tab.get_by_label("รายละเอียดการปฏิบัติงาน").fill("ขุดคลองไส้ไก่ร่วมกับเจ้าของแปลง")
    hours = question(tab, "จำนวนชั่วโมงปฏิบัติงาน").locator("input")
    hours.click()
    hours.press_sequentially("6")
    hours.blur()
    question(tab, "มีภาพถ่ายหรือไม่").get_by_text("มี", exact=True).click()
    choose_image(tab, "ภาพถ่าย", photo, "work.jpg")
    choose_image(tab, "ลายมือชื่อเจ้าของแปลง", signature or photo, "signature.jpg")


def daily_logs(db: Engine) -> list:
    """The daily logs received: instanceID, app user, plot, submitting user's name, start location, photo blobs."""
    with db.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT sv.instance_id, sv.app_user_id, sv.data->>'plot' AS plot,"
                    " (SELECT u.username FROM users u WHERE u.id = sv.submitter_id) AS submitter,"
                    " (SELECT ST_X(g.geom) || ' ' || ST_Y(g.geom) FROM submission_geometries g"
                    "  WHERE g.submission_version_id = sv.id AND g.field_path = 'start_location') AS at,"
                    " (SELECT array_agg(a.blob_sha256 ORDER BY a.name) FROM submission_attachments a"
                    "  WHERE a.submission_version_id = sv.id AND a.blob_sha256 IS NOT NULL) AS blobs"
                    " FROM submission_versions sv JOIN forms f ON f.id = sv.form_id"
                    " WHERE f.xml_form_id = 'daily_log' ORDER BY sv.id"
                )
            )
        )


@pytest.fixture
def plot_label(supervise: CollectClient, db: Engine) -> tuple[str, str]:
    """A registered plot of district 4001: (uuid, the label the entity list shows)."""
    plot = send_plot(supervise, db, MUEANG)
    with db.connect() as conn:
        label = conn.execute(text("SELECT label FROM plots WHERE uuid = :u"), {"u": plot.plot_uuid}).scalar_one()
    return plot.plot_uuid, label


def test_a_field_developer_fills_the_daily_log_on_a_phone_through_the_app_user_link(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], app: Flask, db: Engine
) -> None:
    app_user_id, token = app_user
    plot_uuid, label = plot_label
    photo = jpeg(scene(3))

    open_form(phone, f"/v1/key/{token}/projects/1/f/daily_log")
    fill_daily_log(phone, label, photo)
    screenshot(phone, "webform-daily-log-filled")
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)
    screenshot(phone, "webform-daily-log-sent")

    [row] = daily_logs(db)
    assert (row.app_user_id, row.plot) == (app_user_id, plot_uuid)
    lon, lat = (float(v) for v in row.at.split())
    assert (round(lat, 4), round(lon, 4)) == (HERE["latitude"], HERE["longitude"])
    assert len(row.blobs) == 2 and all(app.extensions["knn"].blobs.exists(b) for b in row.blobs)


def test_the_same_form_filled_twice_makes_two_submissions(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], db: Engine
) -> None:
    for _ in range(2):
        open_form(phone, f"/v1/key/{app_user[1]}/projects/1/f/daily_log")
        fill_daily_log(phone, plot_label[1], jpeg(scene(4)))
        phone.get_by_role("button", name="Send").click()
        expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)

    assert len({row.instance_id for row in daily_logs(db)}) == 2


def test_a_district_supervisor_keys_in_a_paper_daily_log_signed_in(
    phone: Page, forms, web_user, plot_label: tuple[str, str], db: Engine
) -> None:
    sign_in(phone, *web_user("somchai", "district", "4001"))
    open_form(phone, "/f/daily_log")
    fill_daily_log(phone, plot_label[1], jpeg(scene(9)))
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)

    [row] = daily_logs(db)
    assert (row.submitter, row.app_user_id, row.plot) == ("somchai", None, plot_label[0])
    assert len(row.blobs) == 2


def test_a_signed_in_web_form_post_without_the_csrf_header_is_refused_and_stores_nothing(
    client: FlaskClient, forms, web_user, db: Engine
) -> None:
    web_sign_in(client, *web_user("somchai", "district", "4001"))
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/f/daily_log").get_data(as_text=True))[1]

    def post(headers: dict[str, str]):
        xml = f'<data id="daily_log"><meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>'.encode()
        data = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
        return client.post("/f/daily_log/submission", data=data, headers={"X-OpenRosa-Version": "1.0", **headers})

    assert post({}).status_code == 400
    assert post({"X-CSRFToken": "forged"}).status_code == 400
    assert daily_logs(db) == []
    assert post({"X-CSRFToken": token}).status_code == 201
    assert len(daily_logs(db)) == 1


def test_a_second_daily_log_filled_on_the_same_page_after_sending_is_sent_too(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], db: Engine
) -> None:
    open_form(phone, f"/v1/key/{app_user[1]}/projects/1/f/daily_log")
    fill_daily_log(phone, plot_label[1], jpeg(scene(10)))
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)

    fill_daily_log(phone, plot_label[1], jpeg(scene(11)))
    with phone.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/submission")) as answer:
        phone.get_by_role("button", name="Send").click()

    assert answer.value.status == 201
    first, second = daily_logs(db)
    assert first.instance_id != second.instance_id
    assert second.at and len(second.blobs) == 2 and not set(second.blobs) & set(first.blobs)


def lost_answer(route) -> None:
    """The POST reaches the server, but its answer never reaches the phone (the signal dropped)."""
    route.fetch()
    route.abort("internetdisconnected")


def test_a_submission_whose_answer_was_lost_is_kept_and_its_retry_makes_no_second_submission(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], db: Engine
) -> None:
    token = app_user[1]
    open_form(phone, f"/v1/key/{token}/projects/1/f/daily_log")
    fill_daily_log(phone, plot_label[1], jpeg(scene(5)))
    phone.route("**/submission", lost_answer)
    phone.get_by_role("button", name="Send").click()

    outbox = phone.locator("#webform-outbox")
    expect(outbox).to_be_visible(timeout=20000)
    expect(outbox).to_contain_text("ยังไม่ได้ส่ง")
    screenshot(phone, "webform-not-sent")
    assert len(daily_logs(db)) == 1

    phone.unroute("**/submission")
    phone.get_by_role("button", name="ส่งอีกครั้ง").click()
    expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)
    expect(outbox).to_be_hidden()
    assert len(daily_logs(db)) == 1


# --- a submission larger than one POST -------------------------------------------------------------------------

#: The accepted length of these tests: two of their small photos do not fit in one POST, one does.
SMALL_LIMIT = 64_000


def small_photo(seed: int) -> bytes:
    """A photo of about 42 KB: 1200 x 900 pixels at JPEG quality 80, as Web Forms re-encodes it (its resizer)."""
    return jpeg(frame(scene(seed), FIRST_VIEW, (1200, 900)), quality=80)


def submission_posts(tab: Page) -> list[bytes]:
    """The bodies of the submission POSTs the tab sends, as they are sent."""
    bodies: list[bytes] = []
    is_post = lambda r: r.method == "POST" and r.url.endswith("/submission")  # noqa: E731
    tab.on("request", lambda r: is_post(r) and bodies.append(r.post_data_buffer))
    return bodies


@pytest.mark.parametrize("accept_content_length", [SMALL_LIMIT])
def test_a_daily_log_larger_than_the_server_accepts_in_one_post_is_sent_in_several_as_collect_sends_it(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], app: Flask, db: Engine
) -> None:
    work, signature = small_photo(13), small_photo(14)
    assert len(work) + len(signature) > SMALL_LIMIT > max(len(work), len(signature)) + 10_000  # room for the XML
    posts = submission_posts(phone)
    open_form(phone, f"/v1/key/{app_user[1]}/projects/1/f/daily_log")
    fill_daily_log(phone, plot_label[1], work, signature)
    phone.get_by_role("button", name="Send").click()
    expect(phone.locator("#webform-sent")).to_be_visible(timeout=20000)

    [row] = daily_logs(db)
    assert len(row.blobs) == 2 and all(app.extensions["knn"].blobs.exists(b) for b in row.blobs)
    assert len(posts) == 2
    assert all(len(body) < SMALL_LIMIT for body in posts)
    assert all(b'name="xml_submission_file"' in body for body in posts)  # the XML goes in every POST
    assert [b'name="*isIncomplete*"' in body for body in posts] == [True, False]
    expect(phone.locator("#webform-outbox")).to_be_hidden()


@pytest.mark.parametrize("accept_content_length", [SMALL_LIMIT])
def test_a_photo_larger_than_the_server_accepts_is_kept_unsent_in_the_browser_with_a_thai_message(
    phone: Page, forms, app_user: tuple[int, str], plot_label: tuple[str, str], db: Engine
) -> None:
    large = jpeg(Image.effect_noise((1600, 1200), 64).convert("RGB"))  # noise: large even as Web Forms re-encodes it
    assert len(large) > 4 * SMALL_LIMIT
    posts = submission_posts(phone)
    open_form(phone, f"/v1/key/{app_user[1]}/projects/1/f/daily_log")
    fill_daily_log(phone, plot_label[1], small_photo(16), large)
    phone.get_by_role("button", name="Send").click()

    outbox = phone.locator("#webform-outbox")
    expect(outbox).to_be_visible(timeout=20000)
    expect(outbox).to_contain_text(re.compile(r"ไฟล์ '\d+\.jpg' \(\d+(\.\d)? [kM]B\) มีขนาดใหญ่เกินกว่าที่เซิร์ฟเวอร์รับได้"))
    screenshot(phone, "webform-file-too-large")
    assert posts == [] and daily_logs(db) == []

    phone.reload()  # still in the browser, waiting to be sent
    expect(outbox.locator(".count")).to_have_text("1")
    phone.get_by_role("button", name="ส่งอีกครั้ง").click()
    expect(outbox).to_contain_text("ใหญ่เกินกว่าที่เซิร์ฟเวอร์รับได้")
    assert posts == [] and daily_logs(db) == []


#: What the web form says of each bundled form: the questions it cannot answer (README "Web forms" states it).
BUNDLED = {
    "activity_report": ["reporter/reporter_signature"],
    "daily_log": ["certification/owner_signature"],
    "guru_register": [],
    "plot_survey": ["boundary", "parts/part_shape", "swales/swale_line", "bunds/bund_line"],
    "potential_assessment": [],
    "socio_change": ["photo_points/point_bearing"],
}


@pytest.mark.parametrize("form_id", sorted(BUNDLED))
def test_each_bundled_form_opens_in_the_web_form_and_names_the_questions_it_cannot_answer(
    phone: Page, forms, app_user: tuple[int, str], form_id: str
) -> None:
    open_form(phone, f"/v1/key/{app_user[1]}/projects/1/f/{form_id}")

    named = phone.locator("#webform-unsupported li").evaluate_all("items => items.map(i => i.dataset.question)")
    assert named == BUNDLED[form_id]
    if named:
        expect(phone.locator("#webform-unsupported")).to_contain_text("ตอบในเบราว์เซอร์ไม่ได้")
        expect(phone.get_by_alt_text(re.compile("ODK Collect"))).to_be_visible()
    screenshot(phone, f"webform-{form_id}")


# --- a supervisor corrects a plot survey ----------------------------------------------------------------------

PHOTOS = ("1790000000002.jpg", "1790000000003.jpg")


@pytest.fixture
def surveyed(forms, supervise: CollectClient, db: Engine) -> tuple[int, str, dict[str, bytes]]:
    """A plot survey of tambon 400114 (district 4001) with an overview photo and two more, sent with Collect:
    (submission id, instanceID, the photos by name)."""
    instance_id = f"uuid:{uuid.uuid4()}"
    files = {"1790000000001.jpg": jpeg(scene(6)), PHOTOS[0]: jpeg(scene(7)), PHOTOS[1]: jpeg(scene(8))}
    xml = plot_xml(instance_id, photos=PHOTOS, plot_id=str(uuid.uuid4()))
    assert supervise.submit(xml, files)[-1].status_code == 201
    with db.connect() as conn:
        submission_id = conn.execute(
            text("SELECT submission_id FROM submission_versions WHERE instance_id = :i"), {"i": instance_id}
        ).scalar_one()
    return submission_id, instance_id, files


def versions(db: Engine, submission_id: int) -> list:
    """The versions of a submission, oldest first: id, instanceID, deprecatedID, current, data, files by name."""
    with db.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT sv.id, sv.instance_id, sv.deprecated_id, sv.current, sv.data, sv.xml,"
                    " (SELECT jsonb_object_agg(a.name, a.blob_sha256) FROM submission_attachments a"
                    "  WHERE a.submission_version_id = sv.id) AS files"
                    " FROM submission_versions sv WHERE sv.submission_id = :s ORDER BY sv.id"
                ),
                {"s": submission_id},
            )
        )


def numbers(geo: str) -> list[tuple[float, ...]]:
    """An ODK geo answer (``lat lon alt acc;...``) as numbers."""
    return [tuple(float(v) for v in point.split()) for point in geo.split(";")]


def same_geometries(db: Engine, old_version: int, new_version: int) -> int:
    """How many geometries of the old version the new one has at the same place in the form, equal in PostGIS."""
    with db.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM submission_geometries o JOIN submission_geometries n"
                " ON n.field_path = o.field_path AND n.repeat_position = o.repeat_position"
                " AND ST_Equals(n.geom, o.geom) WHERE o.submission_version_id = :o AND n.submission_version_id = :n"
            ),
            {"o": old_version, "n": new_version},
        ).scalar_one()


def test_a_district_supervisor_corrects_the_owners_phone_of_a_plot_survey_in_the_web_form(
    phone: Page, web_user, surveyed: tuple[int, str, dict[str, bytes]], app: Flask, db: Engine
) -> None:
    submission_id, instance_id, files = surveyed
    name, password = web_user("somchai", "district", "4001")
    sign_in(phone, name, password)
    phone.goto(f"/submissions/{submission_id}")
    phone.get_by_role("link", name=re.compile("แก้ไข")).first.click()
    phone.wait_for_selector(".form-initialization-status.ready", state="attached", timeout=30000)
    expect(phone.locator("#webform-unsupported")).to_contain_text("คำตอบเดิมจะคงไว้ตามที่ส่งมา")
    phone_number = question(phone, "เบอร์โทร").locator("input")
    expect(phone_number).to_have_value("0812345678")
    phone_number.fill("0898765432")
    phone_number.blur()
    screenshot(phone, "webform-edit-plot-survey")
    phone.get_by_role("button", name="Send").click()

    expect(phone).to_have_url(f"/submissions/{submission_id}", timeout=20000)
    expect(phone.locator("#review-state")).to_contain_text("แก้ไขแล้ว")
    expect(phone.locator('tr[data-path="owner/owner_phone"]')).to_contain_text("0898765432")
    expect(phone.locator("table.history")).to_contain_text("submission.edit")
    screenshot(phone, "webform-edited")

    old, new = versions(db, submission_id)
    assert (old.instance_id, old.current) == (instance_id, False)
    assert (new.deprecated_id, new.current) == (instance_id, True) and new.instance_id != instance_id
    assert old.data["owner"]["owner_phone"] == "0812345678"
    assert new.data["owner"]["owner_phone"] == "0898765432"
    blobs = app.extensions["knn"].blobs
    assert new.files == old.files and set(new.files) == set(files)  # the photos are carried into the new version
    assert all(blobs.exists(sha) for sha in new.files.values())
    # The shapes and lines the browser cannot draw come back as loaded (Web Forms writes 16.4419 for 16.4419000).
    for answer in ("boundary", "location"):
        assert numbers(new.data[answer]) == numbers(old.data[answer])
    assert [numbers(p["part_shape"]) for p in new.data["parts"]] == [
        numbers(p["part_shape"]) for p in old.data["parts"]
    ]
    assert [numbers(s["swale_line"]) for s in new.data["swales"]] == [
        numbers(s["swale_line"]) for s in old.data["swales"]
    ]
    assert same_geometries(db, old.id, new.id) == 5
    with db.connect() as conn:
        plot = conn.execute(
            text("SELECT properties->>'owner_phone' AS phone, version FROM plots WHERE uuid = :u"),
            {"u": new.data["plot_id"]},
        ).one()
        state = conn.execute(text("SELECT review_state FROM submissions WHERE id = :s"), {"s": submission_id})
        audit = conn.execute(
            text(
                "SELECT u.username, a.after FROM audit_log a JOIN users u ON u.id = a.actor_id"
                " WHERE a.action = 'submission.edit' AND a.subject_id = :s"
            ),
            {"s": submission_id},
        ).all()
    assert (plot.phone, plot.version) == ("0898765432", 2)
    assert state.scalar_one() == "edited"
    assert [(who, after["instance_id"]) for who, after in audit] == [("somchai", new.instance_id)]


def test_a_supervisor_of_another_district_cannot_open_a_submission_to_edit_it(
    client: FlaskClient, web_user, surveyed: tuple[int, str, dict[str, bytes]]
) -> None:
    submission_id = surveyed[0]
    web_sign_in(client, *web_user("kanya", "district", "4002"))

    assert client.get(f"/submissions/{submission_id}/edit").status_code == 404
    assert client.get(f"/submissions/{submission_id}/instance.xml").status_code == 404


# --- the map of geo questions ---------------------------------------------------------------------------------


def show_map(tab: Page, token: str) -> None:
    """Open the plot survey, whose boundary is drawn on a map, and wait for the map."""
    open_form(tab, f"/v1/key/{token}/projects/1/f/plot_survey")
    tab.locator(".ol-viewport").first.wait_for(timeout=20000)


def test_the_map_of_a_geo_question_shows_the_configured_base_map(
    phone: Page, elsewhere: list[str], forms, app_user: tuple[int, str]
) -> None:
    with phone.expect_request(BASEMAP.split("{")[0] + "**", timeout=20000):
        show_map(phone, app_user[1])
    screenshot(phone, "webform-map-basemap")

    assert elsewhere and all(url.startswith(BASEMAP.split("{")[0]) for url in elsewhere)


@pytest.mark.parametrize("basemap", [None])
def test_without_a_base_map_the_map_of_a_geo_question_sends_nothing_to_another_server(
    phone: Page, elsewhere: list[str], forms, app_user: tuple[int, str]
) -> None:
    show_map(phone, app_user[1])
    phone.wait_for_timeout(2000)  # the map has asked for its tiles

    assert elsewhere == []
