"""Labels of an XForm's questions and choices, per language, read from pyxform's itext."""

from __future__ import annotations

from khoknongna.openrosa.labels import language_key, read_labels
from khoknongna.openrosa.xlsform import convert_xlsform
from khoknongna.review_pages import answer_rows, bilingual, content_type_of, is_safe_file_name
from tests.small_forms import MINI_PLOT_SURVEY


def test_languages_are_reduced_to_thai_english_or_default() -> None:
    assert [language_key(x) for x in ("Thai (th)", "th", "ไทย", "English (en)", None)] == [
        "th",
        "th",
        "th",
        "en",
        "default",
    ]


def test_thai_and_english_labels_of_questions_repeats_and_choices_come_from_the_itext() -> None:
    labels = read_labels(convert_xlsform(MINI_PLOT_SURVEY, "mini_plot_survey.xlsx", validate=False).xform)

    assert labels.field("size_class") == {"th": "ขนาดแปลง", "en": "Size class"}
    assert labels.field("parts") == {"th": "ส่วนของแปลง", "en": "Parts"}
    assert labels.choice("size_class", "3") == {"th": "3 ไร่", "en": "3 rai"}
    assert bilingual(labels.field("parts/part_type"), "part_type") == ("ประเภท", "Type")


def test_answers_keep_groups_and_repeats_and_label_select_answers() -> None:
    converted = convert_xlsform(MINI_PLOT_SURVEY, "mini_plot_survey.xlsx", validate=False)
    labels = read_labels(converted.xform)
    data = {"size_class": "1", "parts": [{"part_type": "pond"}, {"part_type": "paddy"}], "meta": {"instanceID": "x"}}
    definition = {"fields": {"size_class": "string", "parts/part_type": "string"}, "repeats": ["parts"]}

    rows = answer_rows(data, definition, labels, [])

    assert [(r.path, r.kind, r.position) for r in rows] == [
        ("size_class", "text", None),
        ("parts", "repeat", 1),
        ("parts/part_type", "text", None),
        ("parts", "repeat", 2),
        ("parts/part_type", "text", None),
    ]
    assert (rows[0].choice_th, rows[0].choice_en) == ("1 ไร่", "1 rai")


def test_file_names_with_paths_are_not_served_and_unknown_types_are_downloads() -> None:
    assert is_safe_file_name("1790000000001.jpg")
    assert not any(is_safe_file_name(n) for n in ("../x.jpg", "a/b.jpg", "..", "a\\b", "a\nb", ""))
    assert content_type_of("x.jpg", None) == "image/jpeg"
    assert content_type_of("x.html", "text/html") == "text/html"
    assert content_type_of("noext", None) == "application/octet-stream"
