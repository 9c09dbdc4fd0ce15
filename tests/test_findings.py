"""Findings as a person reads them (``khoknongna.findings``): other plots by label, photos in plain words."""

from __future__ import annotations

from khoknongna.findings import PlotName, name_other_plots, once_each

NEAR = {
    "rule": "photo_reused_near",
    "findings": [
        {
            "code": "same_picture",
            "numbers": {
                "attachment": "a.jpg",
                "other_attachment": "b.jpg",
                "other_instance_id": "uuid:1",
                "other_submission_id": 9,
                "other_plot": "6F1C0000-0000-4000-8000-000000000001",
                "distance_bits": 4,
            },
            "message_th": "ภาพ a.jpg เป็นภาพเดียวกับ b.jpg ในรายงาน uuid:1 ที่ถูกย่อ บีบอัด หรือตัดขอบ (ต่างกัน 4 บิตจาก 64)",
            "message_en": "Photo a.jpg is the picture b.jpg of submission uuid:1 resized (4 of 64 bits differ)",
        }
    ],
}
OTHER = PlotName("6f1c0000-0000-4000-8000-000000000001", "นายสมชาย – 1 ไร่")


def test_a_near_duplicate_photo_is_said_without_bits_and_names_the_other_plot() -> None:
    (shown,) = name_other_plots([NEAR], {OTHER.uuid: OTHER})

    finding = shown["findings"][0]
    assert finding["message_th"] == (
        "ภาพ a.jpg เกือบเหมือนกับภาพ b.jpg ของรายการ uuid:1 ของแปลง “นายสมชาย – 1 ไร่” (อาจถูกย่อ บีบอัด หรือตัดขอบ)"
    )
    assert "bits" not in finding["message_en"] and "บิต" not in finding["message_th"]
    assert finding["other_plot"] == {"uuid": OTHER.uuid, "label": "นายสมชาย – 1 ไร่"}


def test_the_stored_result_is_left_as_it_was() -> None:
    name_other_plots([NEAR], {OTHER.uuid: OTHER})

    assert "บิตจาก 64" in NEAR["findings"][0]["message_th"]


def test_an_overlap_names_the_plot_instead_of_its_row_id() -> None:
    overlap = {
        "rule": "plot_overlaps",
        "findings": [
            {
                "code": "overlap",
                "numbers": {"other_plot": 7, "overlap_m2": 17.0},
                "message_th": "ทับแปลง 7 17 ตร.ม. (2.5% ของแปลงนี้, 2.5% ของแปลง 7)",
                "message_en": "Overlaps plot 7 by 40 m² (2.5% of this plot, 2.5% of plot 7; 3 m wide on average).",
            }
        ],
    }

    (shown,) = name_other_plots([overlap], {7: OTHER})

    finding = shown["findings"][0]
    assert finding["numbers"]["other_plot"] == OTHER.uuid
    assert finding["message_th"] == "ทับแปลง “นายสมชาย – 1 ไร่” 17 ตร.ม. (2.5% ของแปลงนี้, 2.5% ของแปลง “นายสมชาย – 1 ไร่”)"


def test_each_rule_is_shown_once_the_first_list_winning() -> None:
    own = [{"rule": "evidence_location", "status": "outside"}]
    plot = [{"rule": "plot_area", "status": "ok"}, {"rule": "evidence_location", "status": "inside"}]

    assert once_each(own, plot) == [own[0], plot[0]]
