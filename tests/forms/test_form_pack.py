"""What every form of the pack shares: valid for Collect (ODK Validate), identified and versioned, Thai first
and English second, follow-up forms tied to a registered plot, and a submission of each is stored by the
server through the real OpenRosa endpoint.

Source: the forms issue (six forms, Thai first, ODK Validate); forms_xlsform/README.md (conventions).
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from khoknongna.forms_xlsform import bundled_forms, bundled_media
from khoknongna.publishing import publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.forms.xforms import (
    ENGLISH,
    FOLLOW_UP_FORMS,
    FORM_FILES,
    NS,
    THAI,
    XF,
    binds,
    control,
    conversion,
    select_from_file,
    xform,
    xlsform_bytes,
)
from tests.instances import build_instance

PLOT_ID = "0b6c8f3a-2e5d-4f1a-9c7b-8d3e2a1f6b40"


def plots_csv() -> bytes:
    """A one-plot entity list as the server will serve it (name, label, __version, properties)."""
    return (
        "name,label,__version,programme,model,size_class,owner_name,village_no,village_name,province,amphoe,tambon\n"
        f"{PLOT_ID},นางสมศรี ใจดี – ม.5 บ้านหนองแวง ต.ศิลา – 1 ไร่,1,covid_loan,HLM,1,นางสมศรี ใจดี,5,"
        "บ้านหนองแวง,40,4001,400114\n"
    ).encode()


def test_the_pack_has_the_six_forms() -> None:
    assert sorted(p.name for p in bundled_forms()) == sorted(FORM_FILES.values())


@pytest.mark.parametrize("form_id", FORM_FILES)
def test_the_form_converts_and_passes_odk_validate_without_warnings(form_id: str) -> None:
    assert conversion(form_id).warnings == ()


@pytest.mark.parametrize("form_id", FORM_FILES)
def test_the_form_is_identified_versioned_and_rooted_at_data(form_id: str) -> None:
    data = xform(form_id).find("h:head/x:model/x:instance/x:data", NS)

    assert data.get("id") == form_id
    assert data.get("version", "").isdigit()
    assert len(data.get("version")) == 10  # YYYYMMDDnn


@pytest.mark.parametrize("form_id", FORM_FILES)
def test_the_form_is_in_thai_first_and_english_second_with_every_text_in_both(form_id: str) -> None:
    root = xform(form_id)
    translations = root.findall(".//x:itext/x:translation", NS)

    assert [t.get("lang") for t in translations] == [THAI, ENGLISH]
    assert translations[0].get("default") == "true()"
    thai, english = ({t.get("id") for t in tr.iterfind("x:text", NS)} for tr in translations)
    assert thai == english


@pytest.mark.parametrize("form_id", FORM_FILES)
def test_the_form_names_its_instances(form_id: str) -> None:
    assert binds(xform(form_id))["/data/meta/instanceName"]["calculate"]


@pytest.mark.parametrize("form_id", FOLLOW_UP_FORMS)
def test_a_follow_up_form_picks_the_plot_from_the_plots_entity_list_at_data_plot(form_id: str) -> None:
    root = xform(form_id)

    assert control(root, "/data/plot").tag == f"{{{XF}}}select1"
    assert select_from_file(root, "/data/plot") == "plots.csv"
    required = binds(root)["/data/plot"].get("required")
    assert required == (None if form_id == "guru_register" else "true()")


@pytest.mark.parametrize("form_id", FORM_FILES)
def test_the_form_is_published_with_the_area_lists_and_a_submission_of_it_is_stored(
    form_id: str, app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    services = app.extensions["knn"]
    published = publish_form(
        services.engine,
        services.blobs,
        settings,
        FORM_FILES[form_id],
        xlsform_bytes(form_id),
        offered_media=bundled_media(),
    )
    built = build_instance(conversion(form_id).xform, {**bundled_media(), "plots.csv": plots_csv()})

    responses = collect.submit(built.xml, built.attachments)

    assert published.ignored_media == []
    assert set(published.missing_media) <= {"plots.csv"}
    assert [r.status_code for r in responses][-1] == 201, responses[-1].data
    with db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT v.instance_id, count(a.name) FROM submission_versions v JOIN forms f ON f.id = v.form_id "
                "LEFT JOIN submission_attachments a ON a.submission_version_id = v.id "
                "WHERE f.xml_form_id = :form_id GROUP BY v.instance_id"
            ),
            {"form_id": form_id},
        ).all()
    assert stored == [(built.instance_id, len(built.attachments))]


def test_the_generated_follow_up_submission_names_the_plot_by_its_entity_id() -> None:
    built = build_instance(conversion("activity_report").xform, {**bundled_media(), "plots.csv": plots_csv()})

    assert built.answers["plot"] == PLOT_ID
    assert built.answers["place/tambon"] == "100101"  # the first sub-district of the list
    assert uuid.UUID(built.answers["plot"])
