"""The potential assessment scores a plot and computes its grade A / B / C in the form, from thresholds kept in
one place at the top of the form and stated in a note with their source.

The grade is computed here by evaluating the form's own ``calculate`` expressions with lxml's XPath 1.0 (plus
JavaRosa's ``if()``), on an instance with chosen scores.

Source: seed 002 แนวทาง ๒.๒ and seed 000 สิ่งที่ส่งมาด้วย ๕ (grades A, B, C; no numeric thresholds given).
"""

from __future__ import annotations

import math

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import Engine, text

from khoknongna.publishing import publish_form
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.forms.test_form_pack import plots_csv
from tests.forms.xforms import ENGLISH, NS, THAI, binds, choices, conversion, itext, xform, xlsform_bytes
from tests.instances import build_instance

ITEMS = (
    "place/place_repair",
    "place/place_enrich",
    "place/place_build",
    "people/people_guru",
    "people/people_network",
    "product/product_safe",
    "product/product_share_process",
    "promotion/promotion_market",
    "pass_on/pass_on_learning",
    "pass_on/pass_on_dissemination",
)
GRADING = ("threshold_a", "threshold_b", "score_max", "score_total", "score_percent", "grade")


def _boolean(value: object) -> bool:
    """XPath 1.0 ``boolean()`` of an evaluated argument."""
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    return bool(value)


def _if(_context: object, condition: object, then: object, otherwise: object) -> object:
    """JavaRosa's ``if(condition, then, else)``."""
    return then if _boolean(condition) else otherwise


def instance_with_scores(scores: list[int]) -> etree._Element:
    """A generated instance of the assessment with ``scores`` answered and the grading calculated."""
    root = etree.fromstring(build_instance(conversion("potential_assessment").xform, {"plots.csv": plots_csv()}).xml)
    for item, score in zip(ITEMS, scores, strict=True):
        root.find(item).text = str(score)
    b = binds(xform("potential_assessment"))
    for name in GRADING:  # in the order of the form, each after what it uses
        expression = b[f"/data/{name}"]["calculate"]
        value = etree.XPath(expression, extensions={(None, "if"): _if})(root)
        root.find(name).text = value if isinstance(value, str) else f"{value:g}"
    return root


@pytest.fixture(scope="module")
def assessment() -> etree._Element:
    return xform("potential_assessment")


def test_the_grade_thresholds_are_named_calculations_at_the_top_of_the_form(assessment: etree._Element) -> None:
    b = binds(assessment)
    order = [bind.get("nodeset") for bind in assessment.iterfind(".//x:bind", NS)]

    assert (b["/data/threshold_a"]["calculate"], b["/data/threshold_b"]["calculate"]) == ("80", "60")
    assert order.index("/data/threshold_a") < order.index("/data/place/place_repair")
    grade = b["/data/grade"]["calculate"]
    assert "/data/threshold_a" in grade
    assert "/data/threshold_b" in grade


def test_a_note_states_the_thresholds_and_says_the_seeds_give_none(assessment: etree._Element) -> None:
    thai = itext(assessment, "/data/thresholds_note:label", THAI)
    english = itext(assessment, "/data/thresholds_note:label", ENGLISH)

    assert "ระดับ A" in thai
    assert "ไม่ได้กำหนดคะแนน" in thai
    assert "give no scores" in english
    outputs = {o.get("value").strip() for o in assessment.iterfind(".//x:output", NS)}
    assert {"/data/threshold_a", "/data/threshold_b"} <= outputs


def test_each_item_is_scored_from_1_to_5(assessment: etree._Element) -> None:
    b = binds(assessment)

    assert choices(assessment, "score") == ["1", "2", "3", "4", "5"]
    for item in ITEMS:
        assert b[f"/data/{item}"]["required"] == "true()", item


@pytest.mark.parametrize(
    ("scores", "grade"),
    [
        ([5] * 10, "A"),
        ([4] * 10, "A"),  # 40 of 50 = 80 %: the A threshold itself
        ([4] * 9 + [3], "B"),  # 39 of 50 = 78 %
        ([3] * 10, "B"),  # 60 %: the B threshold itself
        ([3] * 9 + [2], "C"),  # 58 %
        ([1] * 10, "C"),
    ],
)
def test_the_form_computes_the_grade_from_the_scores(scores: list[int], grade: str) -> None:
    root = instance_with_scores(scores)

    assert root.findtext("score_total") == str(sum(scores))
    assert root.findtext("grade") == grade


def test_a_submission_with_its_computed_grade_is_stored(
    app: Flask, settings: Settings, db: Engine, collect: CollectClient
) -> None:
    services = app.extensions["knn"]
    publish_form(
        services.engine, services.blobs, settings, "potential_assessment.xlsx", xlsform_bytes("potential_assessment")
    )
    root = instance_with_scores([4] * 9 + [3])
    instance_id = root.findtext("meta/instanceID")

    response = collect.submit(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))[-1]

    assert response.status_code == 201, response.data
    with db.connect() as conn:
        xml = conn.execute(text("SELECT xml FROM submission_versions WHERE instance_id = :id"), {"id": instance_id})
        stored = etree.fromstring(xml.scalar_one().encode("utf-8"))
    assert stored.findtext("grade") == "B"
    assert stored.findtext("score_total") == "39"
