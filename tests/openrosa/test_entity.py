"""Entity blocks: what an XForm declares (``openrosa.xform``) and what a submission asks for
(``openrosa.entity``)."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree

from khoknongna.openrosa.entity import read_entity_blocks
from khoknongna.openrosa.xform import EntityDeclaration, FormDefinition, read_xform
from khoknongna.openrosa.xlsform import convert_xlsform
from khoknongna.problems import Problem
from tests.openrosa.test_xform import xform
from tests.paths import CORPUS_FORMS
from tests.small_forms import SITE_REGISTER

REGISTER = convert_xlsform(SITE_REGISTER, "site_register.xlsx", validate=False).xform

UPSERT = """
| settings |
| | form_id | version |
| | site_upsert | 1 |
| survey |
| | type | name | label | save_to |
| | select_one_from_file sites.csv | site | Site | |
| | text | site_name | Site | site_name |
| entities |
| | list_name | label | entity_id | create_if | update_if |
| | sites | ${site_name} | ${site} | ${site} = '' | ${site} != '' |
"""


def test_a_registration_form_declares_a_create_with_its_saved_properties() -> None:
    definition = read_xform(REGISTER)

    assert definition.entities == (
        EntityDeclaration(
            dataset="sites",
            container="",
            create=True,
            update=False,
            properties=(("site_name", "site_name"), ("tambon", "tambon")),
        ),
    )


def test_an_upsert_form_declares_both_create_and_update() -> None:
    (declaration,) = read_xform(xform(UPSERT)).entities

    assert (declaration.create, declaration.update) == (True, True)


def test_entities_from_a_repeat_have_the_repeat_as_container_and_paths_inside_it() -> None:
    (declaration,) = read_xform((CORPUS_FORMS / "create-or-update-entities-from-repeats.xml").read_bytes()).entities

    assert (declaration.dataset, declaration.container) == ("people", "people")
    assert declaration.properties == (("full_name", "name"),)


def test_a_form_without_entities_declares_none() -> None:
    assert read_xform(xform("| survey |\n| | type | name | label |\n| | text | a | A |\n")).entities == ()


def test_entity_declarations_survive_the_stored_definition() -> None:
    definition = read_xform(xform(UPSERT))

    assert FormDefinition.from_json(definition.to_json()).entities == definition.entities


@pytest.mark.parametrize("prop", ["label", "Name", "__version"])
def test_a_reserved_property_name_is_refused(prop: str) -> None:
    data = REGISTER.replace(b'entities:saveto="site_name"', f'entities:saveto="{prop}"'.encode())

    with pytest.raises(Problem) as info:
        read_xform(data)

    assert info.value.kind.code == "422.1"
    assert prop in info.value.message_en


def test_an_entities_version_collect_cannot_read_is_refused() -> None:
    data = REGISTER.replace(b'entities-version="2024.1.0"', b'entities-version="2030.1.0"')

    with pytest.raises(Problem) as info:
        read_xform(data)

    assert "2030.1.0" in info.value.message_en


# --- a submission's entity blocks ---------------------------------------------------------------------------

DECLARATION = EntityDeclaration("sites", "", create=True, update=True, properties=(("site_name", "site_name"),))


def instance(entity_attributes: str, label: str = "แปลง", name: str = "แปลง") -> etree._Element:
    return etree.fromstring(
        f'<data id="site_upsert"><site_name>{name}</site_name><meta><instanceID>uuid:1</instanceID>'
        f"<entities:entity xmlns:entities='http://www.opendatakit.org/xforms/entities' {entity_attributes}>"
        f"<label>{label}</label></entities:entity></meta></data>"
    )


def test_a_prefixed_capitalised_entity_id_is_read_as_a_plain_lowercase_uuid() -> None:
    entity_id = uuid.uuid4()
    (block,) = read_entity_blocks(
        instance(f'dataset="sites" create="1" id="uuid:{str(entity_id).upper()}"'), (DECLARATION,)
    )

    assert block.uuid == str(entity_id)
    assert block.problem is None


@pytest.mark.parametrize(
    ("flags", "create", "update"),
    [
        ('create="1"', True, False),
        ('create="true" update="false"', True, False),
        ('update="TRUE" baseVersion="3"', False, True),
        ('create="yes"', False, False),
    ],
)
def test_only_1_and_true_turn_a_flag_on(flags: str, create: bool, update: bool) -> None:
    blocks = read_entity_blocks(instance(f'dataset="sites" id="{uuid.uuid4()}" {flags}'), (DECLARATION,))

    assert [(b.create, b.update) for b in blocks] == ([(create, update)] if create or update else [])


def test_a_flag_the_form_does_not_declare_is_off() -> None:
    create_only = EntityDeclaration("sites", "", create=True, update=False)

    blocks = read_entity_blocks(instance(f'dataset="sites" update="1" id="{uuid.uuid4()}"'), (create_only,))

    assert blocks == []


def test_the_base_version_label_and_saved_properties_are_read() -> None:
    (block,) = read_entity_blocks(
        instance(f'dataset="sites" update="1" baseVersion="4" id="{uuid.uuid4()}"', label="ใหม่", name="ชื่อใหม่"),
        (DECLARATION,),
    )

    assert (block.base_version, block.label, block.properties) == (4, "ใหม่", {"site_name": "ชื่อใหม่"})


def test_an_id_that_is_not_a_uuid_is_kept_as_a_problem() -> None:
    (block,) = read_entity_blocks(instance('dataset="sites" create="1" id="plot-7"'), (DECLARATION,))

    assert block.uuid is None
    assert block.problem == "entity id 'plot-7' is not a UUID"
