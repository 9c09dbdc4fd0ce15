"""khoknongna.openrosa.xml: untrusted XML is parsed safely or refused with a Problem the client can read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from khoknongna.openrosa.xml import child_elements, find_child, local_name, parse_xml
from khoknongna.problems import Problem
from tests.paths import CORPUS


def billion_laughs(levels: int = 9) -> bytes:
    """The classic attack: each entity is ten of the previous one, so ``&lolN;`` is 3 x 10**N characters."""
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    return (
        '<?xml version="1.0"?><!DOCTYPE lolz [' + "".join(entities) + f']><lolz id="f">&lol{levels};</lolz>'
    ).encode()


def refused(data: bytes) -> Problem:
    with pytest.raises(Problem) as info:
        parse_xml(data)
    return info.value


def test_well_formed_submission_parses_to_its_root_element():
    data = (CORPUS / "instances/nested_repeats/nested_repeats_01.xml").read_bytes()

    root = parse_xml(data)

    assert root.tag == "nested_repeats"
    assert root.get("id") == "nested_repeats"
    assert root.findtext("address") == "1234"


def test_utf8_thai_text_is_read_as_text():
    root = parse_xml("<data id='f'><village>บ้านโคกหนองนา</village></data>".encode())

    assert root.findtext("village") == "บ้านโคกหนองนา"


def test_billion_laughs_is_refused_quickly_and_nothing_is_expanded():
    started = time.perf_counter()
    problem = refused(billion_laughs())

    assert time.perf_counter() - started < 1.0
    assert problem.status == 400
    assert "lollol" not in problem.message


def test_billion_laughs_is_refused_as_a_forbidden_construct():
    assert refused(billion_laughs()).code == "400.4"


def test_small_nested_entity_definitions_are_refused_as_a_forbidden_construct():
    problem = refused(billion_laughs(levels=3))

    assert problem.code == "400.4"
    assert "lollol" not in problem.message


def test_external_entity_to_a_local_file_is_refused_and_the_file_never_read_into_the_result():
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    data = b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><data id="f">&xxe;</data>'

    problem = refused(data)

    assert problem.code == "400.4"
    assert secret not in problem.message
    assert secret not in repr(problem.details)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><data id="f"/>',
        b'<?xml version="1.0"?><!DOCTYPE data SYSTEM "http://127.0.0.1:9/evil.dtd"><data id="f"/>',
        b'<!DOCTYPE data><data id="f"/>',
    ],
    ids=["external parameter entity", "external DTD", "bare doctype without entities"],
)
def test_a_doctype_is_refused_as_a_forbidden_construct(data: bytes):
    assert refused(data).code == "400.4"


def test_invalid_utf8_bytes_are_malformed_xml():
    problem = refused(b'<data id="f"><name>\xff\xfe</name></data>')

    assert problem.code == "400.3"
    assert problem.status == 400


def test_empty_bytes_are_malformed_xml():
    assert refused(b"").code == "400.3"


def test_whitespace_only_is_malformed_xml():
    assert refused(b"  \r\n\t").code == "400.3"


def test_unclosed_element_is_malformed_xml_with_the_parser_reason():
    problem = refused(b'<data id="f"><name>x</data>')

    assert problem.code == "400.3"
    assert problem.details["detail"]


def test_undeclared_entity_reference_is_malformed_xml():
    assert refused(b'<data id="f">&nbsp;</data>').code == "400.3"


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_very_deep_nesting_is_parsed_or_refused_as_malformed_never_crashing(depth):
    data = b"<a>" * depth + b"</a>" * depth

    try:
        root = parse_xml(data)
    except Problem as problem:
        assert problem.code == "400.3"
    else:
        assert local_name(root) == "a"


def test_moderate_nesting_parses():
    root = parse_xml(b"<a>" * 200 + b"</a>" * 200)

    assert sum(1 for _ in root.iter()) == 200


def test_find_child_matches_a_prefixed_element_by_local_name():
    root = parse_xml(
        b'<data id="f" xmlns:orx="http://openrosa.org/xforms">'
        b"<orx:meta><orx:instanceID>uuid:1</orx:instanceID></orx:meta></data>"
    )

    meta = find_child(root, "meta")

    assert meta is not None
    assert etree.QName(meta).namespace == "http://openrosa.org/xforms"
    assert find_child(meta, "instanceID").text == "uuid:1"


def test_find_child_matches_an_unprefixed_element_by_the_same_name():
    root = parse_xml(b'<data id="f"><meta><instanceID>uuid:2</instanceID></meta></data>')

    assert find_child(find_child(root, "meta"), "instanceID").text == "uuid:2"


def test_find_child_gives_none_when_there_is_no_such_child():
    root = parse_xml(b'<data id="f"><!-- meta --><metadata/></data>')

    assert find_child(root, "meta") is None


def test_find_child_looks_only_at_direct_children():
    root = parse_xml(b'<data id="f"><g><meta/></g></data>')

    assert find_child(root, "meta") is None


def test_child_elements_leave_out_comments_and_processing_instructions():
    root = parse_xml(b'<data id="f"><!-- c --><a/><?pi x?><b/></data>')

    assert [local_name(c) for c in child_elements(root)] == ["a", "b"]


def test_local_name_of_a_comment_is_none():
    root = parse_xml(b'<data id="f"><!-- c --></data>')

    assert local_name(root[0]) is None
