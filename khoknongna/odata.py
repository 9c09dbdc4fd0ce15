"""ODK Central's OData v4 feed of a form: the service document, the ``$metadata`` (EDMX), the rows of
``Submissions`` and of each repeat table ``Submissions.<group>.<repeat>``, and the ``$filter`` grammar.

Rows are built from the stored answers (``submission_versions.data``: groups as objects, repeats as lists) and
the form's fields (:func:`khoknongna.central.form_fields`), typed as the EDMX says: ``int`` → number,
``decimal`` → number, ``boolean`` → true/false, ``dateTime`` with a ``±hh:mm`` offset, geo fields as GeoJSON
(``{"type": "Point", "coordinates": [lon, lat, alt], "properties": {"accuracy": …}}``) or, with ``$wkt=true``,
as Central's WKT (altitude kept, accuracy left out; ``$wkt=2d`` leaves the altitude out too). A repeat row's
``__id`` is the SHA-1 Central computes from the instanceID and the positions on the way down, so links stay
stable.

``$filter`` accepts comparisons (``eq ne lt le gt ge``) of ``__id``, ``__system/submissionDate``,
``__system/updatedAt``, ``__system/reviewState`` and ``__system/submitterId`` with literals (strings in
quotes, ISO dates and timestamps, numbers, ``null``), joined by ``and``/``or``, ``not`` and parentheses.

Source: central-backend ``lib/formats/odata.js`` and ``lib/data/odata.js``; OData v4.01 URL conventions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from khoknongna.central import APP_USER_ACTOR_BASE, Field, actor_id, iso, odata_name, review_state
from khoknongna.problems import ODATA_FILTER, Problem

NAMESPACE = "org.opendatakit.user"
_TYPES = {
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
}
#: Central's ``__system`` schema (the ``metadata`` type of every submission and its enums), the same in every
#: form's ``$metadata`` (central-backend ``lib/formats/odata.js``).
_SYSTEM = files(__package__).joinpath("odata_system.xml").read_text(encoding="utf-8")


@dataclass
class Node:
    """A field in the tree of a form: its children in document order (groups and repeats have some)."""

    field: Field | None  # None for the root
    children: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return odata_name(self.field.name) if self.field else "Submissions"


def tree(fields: list[Field]) -> Node:
    """The fields as a tree under a root node (fields are in document order, containers first)."""
    root = Node(None)
    by_path: dict[str, Node] = {"": root}
    for f in fields:
        node = Node(f)
        by_path[f.path] = node
        by_path.get(f.path.rsplit("/", 1)[0], root).children.append(node)
    return root


def tables(root: Node) -> dict[str, Node]:
    """``table name -> node`` of ``Submissions`` and every repeat (``Submissions.group.repeat``)."""
    out = {"Submissions": root}

    def walk(node: Node, prefix: list[str]) -> None:
        for child in node.children:
            if child.field and child.field.structural:
                names = [*prefix, child.name]
                if child.field.kind == "repeat":
                    out["Submissions." + ".".join(names)] = child
                walk(child, names)

    walk(root, [])
    return out


def service_document(root: Node, service_url: str) -> dict[str, Any]:
    """``GET ….svc``: the entity sets of the form."""
    return {
        "@odata.context": f"{service_url}/$metadata",
        "value": [{"name": name, "kind": "EntitySet", "url": name} for name in tables(root)],
    }


def metadata_xml(xml_form_id: str, root: Node) -> str:
    """``GET ….svc/$metadata``: the EDMX of the form (Central's layout): ``Submissions`` with ``__id`` and
    ``__system``, a complex type per group, an entity type per repeat with the ``__<parent>-id`` link."""
    base = f"{NAMESPACE}.{odata_name(xml_form_id)}"
    entities: list[tuple[str, list[str], bool]] = []  # (name, property lines, primary)
    complexes: list[tuple[str, list[str]]] = []

    def properties(node: Node, parts: list[str], lines: list[str], repeat_parts: list[str]) -> None:
        for child in node.children:
            f = child.field
            assert f is not None
            names = [*parts, child.name]
            if f.kind == "structure":
                complex_lines: list[str] = []
                complexes.append((".".join(names), complex_lines))
                lines.append(f"<Property Name={quoteattr(child.name)} Type={quoteattr(base + '.' + '.'.join(names))}/>")
                properties(child, names, complex_lines, repeat_parts)
            elif f.kind == "repeat":
                entity_name = "Submissions." + ".".join(names)
                link = "__" + "-".join(["Submissions", *repeat_parts]) + "-id"
                entity_lines = [f'<Property Name="{link}" Type="Edm.String"/>']
                entities.append((entity_name, entity_lines, False))
                type_name = f"{base}.Submissions.{'.'.join(names)}"
                lines.append(
                    f"<NavigationProperty Name={quoteattr(child.name)} Type={quoteattr(f'Collection({type_name})')}/>"
                )
                properties(child, names, entity_lines, names)
            else:
                lines.append(
                    f"<Property Name={quoteattr(child.name)} Type={quoteattr(_TYPES.get(f.kind, 'Edm.String'))}/>"
                )

    main: list[str] = ['<Property Name="__system" Type="org.opendatakit.submission.metadata"/>']
    entities.insert(0, ("Submissions", main, True))
    properties(root, [], main, [])
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
        "  <edmx:DataServices>",
        _SYSTEM.rstrip("\n"),
        f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace={quoteattr(base)}>',
    ]
    for name, lines, _primary in entities:
        out.append(f"      <EntityType Name={quoteattr(name)}>")
        out.append('        <Key><PropertyRef Name="__id"/></Key>')
        out.append('        <Property Name="__id" Type="Edm.String"/>')
        out += [f"        {line}" for line in lines]
        out.append("      </EntityType>")
    for name, lines in complexes:
        out.append(f"      <ComplexType Name={quoteattr(name)}>")
        out += [f"        {line}" for line in lines]
        out.append("      </ComplexType>")
    out.append(f"      <EntityContainer Name={quoteattr(xml_form_id)}>")
    for name, _lines, primary in entities:
        out.append(f"        <EntitySet Name={quoteattr(name)} EntityType={quoteattr(base + '.' + name)}>")
        if primary:
            out.append(
                '          <Annotation Term="Org.OData.Capabilities.V1.ConformanceLevel"'
                ' EnumMember="Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"/>'
            )
            out.append('          <Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>')
            out.append(
                '          <Annotation Term="Org.OData.Capabilities.V1.CountRestrictions">'
                '<Record><PropertyValue Property="Countable" Bool="true"/></Record></Annotation>'
            )
        out.append("        </EntitySet>")
    out += ["      </EntityContainer>", "    </Schema>", "  </edmx:DataServices>", "</edmx:Edmx>", ""]
    return "\n".join(out)


# --- values ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("#text")
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _points(text: str) -> list[list[float]]:
    """``lat lon alt acc; …`` → ``[[lon, lat, alt?, acc?], …]`` (points that do not read are left out)."""
    out = []
    for part in re.split(r";\s*", text.strip().rstrip(";")):
        numbers = []
        for token in part.split():
            try:
                numbers.append(float(token))
            except ValueError:
                numbers.append(float("nan"))
        if len(numbers) < 2 or numbers[0] != numbers[0] or numbers[1] != numbers[1]:
            continue
        out.append([numbers[1], numbers[0], *numbers[2:4]])
    return out


def _number(x: float) -> float | int:
    return int(x) if x.is_integer() else x


def geo_value(kind: str, text: str, *, wkt: bool, flat: bool = False) -> Any:
    """A geopoint/geotrace/geoshape answer as GeoJSON (with accuracy in ``properties``) or as WKT.

    WKT is written as Central writes it (``lib/data/odata.js``): ``POINT (lon lat alt)``, ``LINESTRING (…)``,
    ``POLYGON ((lon lat alt,…))``, the altitude as a third coordinate where the answer has one, the accuracy
    left out. ``flat`` (``$wkt=2d``, beyond Central) leaves the altitude out too: ``POLYGON ((lon lat,…))``, for
    GIS tools that refuse 3D or mixed 2D/3D rings."""
    points = _points(text)
    if not points:
        return None
    xyz = [[_number(c) for c in p[: 2 if wkt and flat else 3] if c == c] for p in points]
    if wkt:
        coords = ",".join(" ".join(str(c) for c in p) for p in xyz)
        if kind == "geopoint":
            return f"POINT ({coords.split(',')[0]})"
        return f"LINESTRING ({coords})" if kind == "geotrace" else f"POLYGON (({coords}))"
    accuracies = [p[3] if len(p) > 3 and p[3] == p[3] else None for p in points]
    if kind == "geopoint":
        out: dict[str, Any] = {"type": "Point", "coordinates": xyz[0]}
        if accuracies[0] is not None:
            out["properties"] = {"accuracy": _number(accuracies[0])}
        return out
    out = (
        {"type": "LineString", "coordinates": xyz} if kind == "geotrace" else {"type": "Polygon", "coordinates": [xyz]}
    )
    if any(a is not None for a in accuracies):
        out["properties"] = {"accuracies": [None if a is None else _number(a) for a in accuracies]}
    return out


def typed(kind: str, raw: Any, *, wkt: bool, flat: bool = False) -> Any:
    """An answer typed as the EDMX says (``None`` for an empty answer or one that does not read)."""
    text = _text(raw)
    if text is None:
        return None
    try:
        if kind == "int":
            return int(text.strip())
        if kind == "decimal":
            return _number(float(text.strip()))
    except ValueError:
        return None
    if kind == "boolean":
        return {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
    if kind in ("geopoint", "geotrace", "geoshape"):
        return geo_value(kind, text, wkt=wkt, flat=flat)
    if kind == "dateTime":
        trimmed = text.strip()
        return f"{trimmed}:00" if re.search(r"[+-]\d\d$", trimmed) else trimmed
    return text


def _repeat_id(instance_id: str, trail: list[tuple[Field, int | None]]) -> str:
    """Central's id of a repeat instance: SHA-1 of the instanceID and the names (and positions) on the way."""
    parts = [f"Submissions#{instance_id}"]
    parts += [f"{f.name}#" if position is None else f"{f.name}#{position}" for f, position in trail]
    return hashlib.sha1("%%".join(parts).encode()).hexdigest()


def _link(instance_id: str, trail: list[tuple[Field, int | None]]) -> str:
    """The navigation link of a repeat (``Submissions('uuid%3A…')/group/repeat``)."""
    out = [f"Submissions('{quote(instance_id, safe='')}')"]
    for depth, (f, _position) in enumerate(trail):
        if f.kind == "repeat" and depth < len(trail) - 1:
            out.append(f"{odata_name(f.name)}('{_repeat_id(instance_id, trail[: depth + 1])}')")
        else:
            out.append(odata_name(f.name))
    return "/".join(out)


@dataclass(frozen=True)
class Options:
    """``$expand=*`` (repeats inline), ``$wkt=true`` (``wkt``) or ``$wkt=2d`` (``wkt`` and ``flat``: without
    altitude), and the table asked for."""

    table: str = "Submissions"
    expand: bool = False
    wkt: bool = False
    flat: bool = False


def system(row: Any) -> dict[str, Any]:
    """``__system`` of a submission row (``storage.central.odata_rows``)."""
    submitter = actor_id(row.submitter_id, row.app_user_id)
    return {
        "submissionDate": iso(row.created_at),
        "updatedAt": iso(row.updated_at) if row.edits else None,
        "submitterId": None if submitter is None else str(submitter),
        "submitterName": row.submitter_name,
        "attachmentsPresent": row.attachments_present,
        "attachmentsExpected": row.attachments_expected,
        "status": "notDecrypted" if row.encrypted else None,
        "reviewState": review_state(row.review_state),
        "deviceId": row.device_id,
        "edits": row.edits,
        "formVersion": row.form_version,
        "deletedAt": None,
    }


def rows_of(root: Node, row: Any, options: Options) -> list[dict[str, Any]]:
    """The OData rows a submission gives to ``options.table``: its one row for ``Submissions``, or the
    instances of that repeat (each with ``__id`` and its parent's id)."""
    out: list[dict[str, Any]] = []
    instance_id = row.instance_id
    table_parts = options.table.split(".")

    def fill(node: Node, data: Any, target: dict[str, Any], trail: list[tuple[Field, int | None]], parts: list[str]):
        data = data if isinstance(data, dict) else {}
        for child in node.children:
            f = child.field
            assert f is not None
            name = child.name
            if f.kind == "structure":
                inner: dict[str, Any] = {}
                target[name] = inner
                fill(child, data.get(f.name), inner, [*trail, (f, None)], [*parts, name])
            elif f.kind == "repeat":
                items = data.get(f.name)
                items = items if isinstance(items, list) else ([items] if isinstance(items, dict) else [])
                here = [*parts, name]
                on_path = table_parts[1 : len(here) + 1] == here and len(table_parts) - 1 >= len(here)
                if not items:
                    continue
                target[f"{name}@odata.navigationLink"] = _link(instance_id, [*trail, (f, 1)])
                if not (options.expand or on_path):
                    continue
                bags = []
                for position, item in enumerate(items, start=1):
                    step = [*trail, (f, position)]
                    bag: dict[str, Any] = {"__id": _repeat_id(instance_id, step)}
                    if ["Submissions", *here] == table_parts:
                        parents = [t for t in trail if t[0].kind == "repeat"]
                        link = "-".join(["Submissions", *[odata_name(p.name) for p, _ in parents]])
                        cut = max((i for i, t in enumerate(trail) if t[0].kind == "repeat"), default=-1)
                        bag[f"__{link}-id"] = instance_id if cut < 0 else _repeat_id(instance_id, trail[: cut + 1])
                        out.append(bag)
                    fill(child, item, bag, step, here)
                    bags.append(bag)
                if options.expand:
                    target[name] = bags
            else:
                target[name] = typed(f.kind, data.get(f.name), wkt=options.wkt, flat=options.flat)

    top: dict[str, Any] = {"__id": instance_id}
    if options.table == "Submissions":
        out.append(top)
    if not row.encrypted:
        fill(root, row.data, top, [], [])
    if options.table == "Submissions":
        top["__system"] = system(row)
    return out


def select(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """``$select``: keep ``__id`` and the listed top-level properties (``__system/x`` keeps one system field)."""
    if not fields:
        return row
    out = {"__id": row["__id"]}
    for name in fields:
        if name.startswith("__system/") and "__system" in row:
            out.setdefault("__system", {})[name.split("/", 1)[1]] = row["__system"].get(name.split("/", 1)[1])
        elif name in row or (name == "__system" and "__system" in row):
            out[name] = row[name]
    return out


# --- paging ---------------------------------------------------------------------------------------------


def skiptoken(instance_id: str) -> str:
    """The ``$skiptoken`` that resumes a feed after ``instance_id`` (Central's form: ``01`` + base64 JSON)."""
    return "01" + base64.b64encode(json.dumps({"instanceId": instance_id}).encode()).decode()


def read_skiptoken(token: str) -> str:
    """The instanceID of a ``$skiptoken``; :class:`Problem` ``ODATA_FILTER`` when it does not read."""
    try:
        if not token.startswith("01"):
            raise ValueError(token)
        found = json.loads(base64.b64decode(token[2:], validate=True))
        if not isinstance(found, dict) or not isinstance(found.get("instanceId"), str):
            raise ValueError(token)
        return found["instanceId"]
    except ValueError:
        raise Problem(ODATA_FILTER, detail="invalid $skiptoken") from None


# --- $filter --------------------------------------------------------------------------------------------

_COLUMNS = {
    "__id": ("s.instance_id", "text"),
    "__system/submissionDate": ("s.created_at", "timestamptz"),
    "__system/updatedAt": (
        "(SELECT max(x.received_at) FROM submission_versions x WHERE x.submission_id = s.id HAVING count(*) > 1)",
        "timestamptz",
    ),
    "__system/reviewState": ("nullif(s.review_state, 'received')", "text"),
    "__system/submitterId": (
        "(SELECT coalesce(x.submitter_id, :app_user_base + x.app_user_id) FROM submission_versions x"
        " WHERE x.submission_id = s.id AND x.current)::text",
        "text",
    ),
}
_OPERATORS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<open>\()|(?P<close>\))"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    params: dict[str, Any]
    position: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Problem(ODATA_FILTER, detail="the $filter ends too early")
        self.position += 1
        return token

    def _chain(self, word: str, operand: Callable[[], str]) -> str:
        """``operand (word operand)*`` as SQL, left to right: ``a or b or c`` -> ``((a OR b) OR c)``."""
        left = operand()
        while self.peek() == ("word", word):
            self.take()
            left = f"({left} {word.upper()} {operand()})"
        return left

    def expression(self) -> str:
        return self._chain("or", self.conjunction)

    def conjunction(self) -> str:
        return self._chain("and", self.unary)

    def unary(self) -> str:
        if self.peek() == ("word", "not"):
            self.take()
            return f"(NOT {self.unary()})"
        if self.peek() == ("open", "("):
            self.take()
            inner = self.expression()
            if self.take() != ("close", ")"):
                raise Problem(ODATA_FILTER, detail="a parenthesis is not closed")
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, str | None]:
        kind, value = self.take()
        if kind == "word" and value in _COLUMNS:
            return _COLUMNS[value][0], _COLUMNS[value][1]
        if kind == "word" and value == "null":
            return "NULL", None
        name = f"f{len(self.params)}"
        if kind == "string":
            self.params[name] = value[1:-1].replace("''", "'")
        elif kind == "datetime":
            try:
                self.params[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise Problem(ODATA_FILTER, detail=f"'{value}' is not a date") from None
        elif kind == "number":
            self.params[name] = value
        else:
            raise Problem(ODATA_FILTER, detail=f"'{value}' cannot be filtered on here")
        return f":{name}", None

    def comparison(self) -> str:
        left, left_type = self.operand()
        kind, operator = self.take()
        if kind != "word" or operator not in _OPERATORS:
            raise Problem(ODATA_FILTER, detail=f"'{operator}' is not a comparison (eq ne lt le gt ge)")
        right, right_type = self.operand()
        column_type = left_type or right_type or "text"
        left, right = (
            (s if t or s == "NULL" else f"CAST({s} AS {column_type})")
            for s, t in ((left, left_type), (right, right_type))
        )
        if "NULL" in (left, right):
            other = right if left == "NULL" else left
            return f"({other} IS {'NOT ' if operator == 'ne' else ''}NULL)"
        return f"({left} {_OPERATORS[operator]} {right})"


def parse_filter(expression: str | None) -> tuple[str, dict[str, Any]]:
    """``(SQL condition over submissions s, params)`` of an OData ``$filter``; ``("TRUE", {})`` without one.
    Raises :class:`Problem` ``ODATA_FILTER`` (Central's 400.18) for what the grammar does not take."""
    if not expression or not expression.strip():
        return "TRUE", {}
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expression):
        if expression[position:].strip() == "":
            break
        found = _TOKEN.match(expression, position)
        if found is None or found.end() == position:
            raise Problem(ODATA_FILTER, detail=f"cannot read from '{expression[position:][:40]}'")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    parser = _Parser(tokens, {"app_user_base": APP_USER_ACTOR_BASE})
    sql = parser.expression()
    if parser.peek() is not None:
        raise Problem(ODATA_FILTER, detail=f"unexpected '{parser.peek()[1]}'")  # type: ignore[index]
    return sql, parser.params


def feed_bytes(context: str, rows: Iterator[dict[str, Any]], footer: Callable[[], dict[str, Any]]) -> Iterator[bytes]:
    """The JSON of a feed, written row by row: ``{"@odata.context", "value": [...], …footer()}`` (the footer is
    asked for once the rows are written: it knows then whether there is a next page)."""
    yield ('{"@odata.context":' + json.dumps(context) + ',"value":[').encode()
    first = True
    for row in rows:
        yield (b"" if first else b",") + json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
        first = False
    yield b"]"
    for key, value in footer().items():
        if value is not None:
            yield ("," + json.dumps(key) + ":" + json.dumps(value)).encode()
    yield b"}"


# --- entity lists ---------------------------------------------------------------------------------------


def entity_metadata_xml(dataset: str, properties: list[str]) -> str:
    """``GET …/datasets/<name>.svc/$metadata``: the EDMX of an entity list (Central's layout): ``Entities``
    with ``__id`` (the UUID), ``label``, ``__system`` and one string property per list property."""
    base = f"{NAMESPACE}.{odata_name(dataset)}"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
        "  <edmx:DataServices>",
        '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.entity">',
        '      <ComplexType Name="metadata">',
        '        <Property Name="createdAt" Type="Edm.DateTimeOffset"/>',
        '        <Property Name="creatorId" Type="Edm.String"/>',
        '        <Property Name="creatorName" Type="Edm.String"/>',
        '        <Property Name="updates" Type="Edm.Int64"/>',
        '        <Property Name="updatedAt" Type="Edm.DateTimeOffset"/>',
        '        <Property Name="version" Type="Edm.Int64"/>',
        '        <Property Name="conflict" Type="Edm.String"/>',
        "      </ComplexType>",
        "    </Schema>",
        f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace={quoteattr(base)}>',
        '      <EntityType Name="Entities">',
        '        <Key><PropertyRef Name="__id"/></Key>',
        '        <Property Name="__id" Type="Edm.String"/>',
        '        <Property Name="label" Type="Edm.String"/>',
        '        <Property Name="__system" Type="org.opendatakit.entity.metadata"/>',
        *(f'        <Property Name={quoteattr(odata_name(p))} Type="Edm.String"/>' for p in properties),
        "      </EntityType>",
        f"      <EntityContainer Name={quoteattr(dataset)}>",
        f'        <EntitySet Name="Entities" EntityType={quoteattr(base + ".Entities")}/>',
        "      </EntityContainer>",
        "    </Schema>",
        "  </edmx:DataServices>",
        "</edmx:Edmx>",
        "",
    ]
    return "\n".join(lines)


def entity_row(row: Any, properties: list[str]) -> dict[str, Any]:
    """One row of ``Entities`` (``storage.central.entities``): ``__id``, ``label``, ``__system`` and the
    properties (text, ``null`` when unset)."""
    creator = actor_id(row.creator_user_id, row.creator_app_user_id)
    out: dict[str, Any] = {
        "__id": row.uuid,
        "label": row.label,
        "__system": {
            "createdAt": iso(row.created_at),
            "creatorId": None if creator is None else str(creator),
            "creatorName": row.creator_name,
            "updates": row.version - 1,
            "updatedAt": iso(row.updated_at),
            "version": row.version,
            "conflict": row.conflict,
        },
    }
    values = row.properties or {}
    for p in properties:
        out[odata_name(p)] = values.get(p)
    return out


# --- $format=geojson (beyond Central) -------------------------------------------------------------------


def feature(identifier: str, geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature (RFC 7946): ``geometry`` as a GeoJSON object or its text (``None`` for none); the
    accuracy Central keeps inside a geometry moves to the feature's properties."""
    if isinstance(geometry, str):
        geometry = json.loads(geometry)
    if isinstance(geometry, dict) and "properties" in geometry:
        geometry = dict(geometry)
        properties = {**properties, **geometry.pop("properties")}
    return {"type": "Feature", "id": identifier, "geometry": geometry, "properties": properties}


def geojson_bytes(features: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A FeatureCollection, written feature by feature."""
    yield b'{"type":"FeatureCollection","features":['
    for n, f in enumerate(features):
        yield (b"," if n else b"") + json.dumps(f, ensure_ascii=False, separators=(",", ":")).encode()
    yield b"]}"


def first_geo_field(root: Node, name: str | None = None) -> Field | None:
    """The geo field of the submissions' features: the one named (its OData name or its path without the
    first ``/``, as ``$geometry`` gives it), else the first geopoint, geotrace or geoshape outside repeats."""
    found: list[Field] = []

    def walk(node: Node) -> None:
        for child in node.children:
            f = child.field
            assert f is not None
            if f.kind == "structure":
                walk(child)
            elif f.kind in ("geopoint", "geotrace", "geoshape"):
                found.append(f)

    walk(root)
    if name is None:
        return found[0] if found else None
    wanted = name.strip("/")
    return next((f for f in found if wanted in (f.path.strip("/"), odata_name(f.name))), None)


def geometry_of(row: Any, f: Field) -> Any:
    """The GeoJSON of a submission's answer to the geo field ``f`` (``None`` without one)."""
    data = {} if row.encrypted else row.data
    for step in f.path.strip("/").split("/"):
        data = data.get(step) if isinstance(data, dict) else None
    text = _text(data)
    return geo_value(f.kind, text, wkt=False) if text else None
