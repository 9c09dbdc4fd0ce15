"""Typed PostGIS views of every form, for GIS staff (QGIS) and exports: the schema ``forms``.

One view per form, ``forms.<form_id>``, with one row per submission (its current version) and one column per
field of the union of the form's versions, typed from the XForm binds; one child view per repeat,
``forms.<form_id>__<repeat>``, with one row per repeat instance. Geo fields are typed geometry columns in
SRID 4326 (``Point``, ``LineString``, ``Polygon``, 2D: the altitude and accuracy stay in
``submission_geometries``), so QGIS lists each as a layer.

Types (bind type → SQL):

============================ =========================================================================
``int``                      ``bigint``
``decimal``                  ``numeric``
``date``                     ``date``
``dateTime``                 ``timestamptz``
``boolean``, yes/no select   ``boolean`` (``yes`` → true, ``no`` → false)
select_multiple              ``text[]`` (the space-separated choice names)
``geopoint``/``geotrace``/…  ``geometry(Point|LineString|Polygon, 4326)``
anything else                ``text`` (strings, select one, time, barcode, file names of photos)
============================ =========================================================================

A value that does not read as its type (an older tool, a form changed underneath) is NULL rather than an
error, so one bad answer never breaks a layer. When versions of a form disagree on a field's type, the
column is ``text`` (geo fields: the latest version's geometry type; answers of another type are NULL).

Column names come from the field names: the last step of the path, lowercased, other characters than
``[a-z0-9_]`` replaced by ``_``, at most 63 bytes. A name already taken (by a column of the view itself, or by
a field met earlier in the form's versions, oldest first) or cut short gets ``_`` and 6 hex digits of the
SHA-1 of the field's path, so the names stay the same as new versions add fields.

Forms of project 1 are ``forms.<form_id>``; those of another project ``forms.p<project>__<form_id>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from khoknongna.openrosa.xform import GEO_TYPES, FormDefinition
from khoknongna.storage import db
from khoknongna.storage.projects import DEFAULT_PROJECT_ID

SCHEMA = "forms"
MAX_IDENTIFIER = 63
GEOMETRY_TYPES = {"geopoint": "Point", "geotrace": "LineString", "geoshape": "Polygon"}
#: Check statuses that are not a problem (see spatial/results.py).
PASSING_STATUSES = ("ok", "warning", "inside", "near")

#: Columns every form view starts with, before the fields.
FORM_COLUMNS = (
    "submission_id",
    "instance_id",
    "instance_name",
    "form_version",
    "submitted_at",
    "updated_at",
    "submitter",
    "review_state",
    "checks",
    "checks_failed",
)
#: Columns every repeat view starts with.
REPEAT_COLUMNS = ("submission_id", "repeat_position", "item", "parent_position", "instance_id", "review_state")


def identifier(name: str, *, key: str | None = None, taken: Iterable[str] = ()) -> str:
    """A lowercase SQL identifier from ``name``: ``[a-z0-9_]``, not starting with a digit, ≤ 63 bytes.

    When the cleaned name is too long, only underscores (a Thai name), or in ``taken``, ``_`` and 6 hex digits
    of the SHA-1 of ``key`` (default ``name``) are appended.
    """
    clean = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "_"
    if clean[0].isdigit():
        clean = "f_" + clean
    if len(clean.encode()) > MAX_IDENTIFIER or clean in set(taken) or not clean.strip("_"):
        suffix = "_" + hashlib.sha1((key or name).encode()).hexdigest()[:6]
        clean = clean[: MAX_IDENTIFIER - len(suffix)] + suffix
    return clean


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def view_name(xml_form_id: str, project_id: int = DEFAULT_PROJECT_ID, repeat: str | None = None) -> str:
    """The view's name in the schema ``forms`` (without the schema)."""
    base = xml_form_id if project_id == DEFAULT_PROJECT_ID else f"p{project_id}__{xml_form_id}"
    if repeat:
        base += "__" + repeat.replace("/", "__")
    return identifier(base, key=f"{project_id}/{xml_form_id}/{repeat or ''}")


@dataclass(frozen=True)
class Column:
    """One field column: the field's path (relative to its container), its SQL type and its column name."""

    path: str
    kind: str  # bigint, numeric, date, timestamptz, boolean, text[], text, or a geo type (geopoint…)
    name: str


@dataclass(frozen=True)
class FormShape:
    """The union of a form's versions: field columns of the submission and of each repeat."""

    columns: tuple[Column, ...]
    repeats: dict[str, tuple[Column, ...]]  # repeat path -> its columns (paths relative to the repeat)


def _sql_kind(bind: str, select: str | None) -> str:
    if bind in GEO_TYPES:
        return bind
    if select == "multiple":
        return "text[]"
    if select == "yes_no" or bind == "boolean":
        return "boolean"
    return {"int": "bigint", "decimal": "numeric", "date": "date", "dateTime": "timestamptz"}.get(bind, "text")


def form_shape(definitions: Sequence[FormDefinition]) -> FormShape:
    """Merge the versions of a form (oldest first) into the columns of its views."""
    kinds: dict[str, str] = {}
    repeats: set[str] = set()
    for definition in definitions:
        repeats |= definition.repeats
        for path, bind in definition.fields.items():
            kind = _sql_kind(bind, definition.selects.get(path))
            old = kinds.get(path)
            if old is not None and old != kind and not (old in GEO_TYPES and kind in GEO_TYPES):
                kind = "text"
            kinds[path] = kind if old is None or old == kind or kind in GEO_TYPES else "text"
    containers = {p.rsplit("/", 1)[0] for p in kinds if "/" in p}
    paths = [p for p in kinds if p not in containers and p not in repeats and not p.startswith("meta/")]

    def owner(path: str) -> str:
        return max((r for r in repeats if path.startswith(r + "/")), key=len, default="")

    def columns(container: str, reserved: tuple[str, ...]) -> tuple[Column, ...]:
        taken = set(reserved)
        out = []
        for path in paths:
            if owner(path) != container:
                continue
            relative = path[len(container) + 1 :] if container else path
            name = identifier(relative.rsplit("/", 1)[-1], key=path, taken=taken)
            taken.add(name)
            out.append(Column(relative, kinds[path], name))
        return tuple(out)

    return FormShape(
        columns=columns("", FORM_COLUMNS),
        repeats={r: columns(r, REPEAT_COLUMNS) for r in sorted(repeats)},
    )


def _json_text(source: str, relative: str) -> str:
    steps = relative.split("/")
    return source + "".join(f"->{literal(s)}" for s in steps[:-1]) + f"->>{literal(steps[-1])}"


#: The function of schema ``forms`` that turns an answer's text into each column kind (text needs none).
_CASTS = {
    "bigint": "forms.to_bigint",
    "numeric": "forms.to_numeric",
    "date": "forms.to_date",
    "timestamptz": "forms.to_timestamptz",
    "boolean": "forms.to_boolean",
    "text[]": "forms.to_choices",
}


def _cast(value: str, kind: str) -> str:
    cast = _CASTS.get(kind)
    return f"{cast}({value})" if cast else value


def _geometry(alias: str, kind: str, version: str, field_path: str, positions: str) -> tuple[str, str]:
    """(column expression, LEFT JOIN) of a geo field: its first valid geometry of that type, 2D, typed."""
    join = (
        f"LEFT JOIN submission_geometries {alias} ON {alias}.submission_version_id = {version}.id"  # noqa: S608 - quoted identifiers, values through literal()
        f" AND {alias}.field_path = {literal(field_path)} AND {alias}.geo_type = {literal(kind)}"
        f" AND {alias}.repeat_position = {positions} AND {alias}.geom IS NOT NULL"
        f" AND {alias}.id = (SELECT min(x.id) FROM submission_geometries x WHERE x.submission_version_id = {version}.id"
        f" AND x.field_path = {literal(field_path)} AND x.repeat_position = {positions}"
        f" AND x.geo_type = {literal(kind)} AND x.geom IS NOT NULL)"
    )
    return f"ST_Force2D({alias}.geom)::geometry({GEOMETRY_TYPES[kind]}, 4326)", join


_CHECKS = (
    "(SELECT jsonb_object_agg(c.rule, c.status) FROM check_results c"  # noqa: S608 - quoted identifiers, values through literal()
    " WHERE c.subject = 'submission' AND c.submission_id = s.id) AS checks,"
    " (SELECT count(*) FROM check_results c WHERE c.subject = 'submission' AND c.submission_id = s.id"
    f" AND c.status NOT IN ({', '.join(literal(x) for x in PASSING_STATUSES)}))::int AS checks_failed"
)


def form_view_sql(name: str, form_pk: int, shape: FormShape) -> str:
    """``CREATE VIEW forms.<name>``: one row per submission of the form (its current version)."""
    selects = [
        "s.id AS submission_id",
        "v.instance_id",
        "v.instance_name",
        "fv.version AS form_version",
        "s.created_at AS submitted_at",
        "v.received_at AS updated_at",
        "coalesce(u.username, au.display_name) AS submitter",
        "s.review_state",
        _CHECKS,
    ]
    joins = []
    for number, column in enumerate(shape.columns):
        if column.kind in GEO_TYPES:
            expression, join = _geometry(f"g{number}", column.kind, "v", column.path, "'{}'::int[]")
            joins.append(join)
        else:
            expression = _cast(_json_text("v.data", column.path), column.kind)
        selects.append(f"{expression} AS {quote(column.name)}")
    return (
        f"CREATE VIEW {SCHEMA}.{quote(name)} AS SELECT {', '.join(selects)}"  # noqa: S608 - quoted identifiers, values through literal()
        " FROM submissions s"
        " JOIN submission_versions v ON v.submission_id = s.id AND v.current"
        " JOIN form_versions fv ON fv.id = v.form_version_id"
        " LEFT JOIN users u ON u.id = v.submitter_id"
        " LEFT JOIN app_users au ON au.id = v.app_user_id"
        f" {' '.join(joins)}"
        f" WHERE s.form_id = {int(form_pk)}"
    )


def repeat_view_sql(name: str, form_pk: int, repeat: str, all_repeats: Iterable[str], columns: Sequence[Column]) -> str:
    """``CREATE VIEW forms.<name>``: one row per instance of ``repeat`` (nested repeats: of every enclosing one)."""
    chain = sorted((r for r in all_repeats if repeat == r or repeat.startswith(r + "/")), key=len)
    froms, source, previous = [], "v.data", ""
    for depth, level in enumerate(chain, start=1):
        relative = level[len(previous) + 1 :] if previous else level
        steps = relative.split("/")
        array = source + "".join(f"->{literal(s)}" for s in steps)
        froms.append(
            f"CROSS JOIN LATERAL jsonb_array_elements(CASE jsonb_typeof({array}) WHEN 'array' THEN {array}"
            f" ELSE '[]'::jsonb END) WITH ORDINALITY AS r{depth}(item, n)"
        )
        source, previous = f"r{depth}.item", level
    depth = len(chain)
    positions = "ARRAY[" + ", ".join(f"r{d}.n::int" for d in range(1, depth + 1)) + "]"
    parent = "ARRAY[" + ", ".join(f"r{d}.n::int" for d in range(1, depth)) + "]::int[]"
    selects = [
        "s.id AS submission_id",
        f"{positions} AS repeat_position",
        f"r{depth}.n::int AS item",
        f"{parent} AS parent_position",
        "v.instance_id",
        "s.review_state",
    ]
    joins = []
    for number, column in enumerate(columns):
        if column.kind in GEO_TYPES:
            expression, join = _geometry(f"g{number}", column.kind, "v", f"{repeat}/{column.path}", positions)
            joins.append(join)
        else:
            expression = _cast(_json_text(source, column.path), column.kind)
        selects.append(f"{expression} AS {quote(column.name)}")
    return (
        f"CREATE VIEW {SCHEMA}.{quote(name)} AS SELECT {', '.join(selects)}"  # noqa: S608 - quoted identifiers, values through literal()
        " FROM submissions s"
        " JOIN submission_versions v ON v.submission_id = s.id AND v.current"
        f" {' '.join(froms)} {' '.join(joins)}"
        f" WHERE s.form_id = {int(form_pk)}"
    )


def _drop_views_of(conn: Connection, form_pk: int) -> None:
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relkind = 'v'"
            " AND obj_description(c.oid, 'pg_class') LIKE :marker"
        ),
        {"schema": SCHEMA, "marker": f"%[form {form_pk}]%"},
    ).scalars()
    for name in list(names):
        conn.execute(text(f"DROP VIEW IF EXISTS {SCHEMA}.{quote(name)} CASCADE"))


def refresh_form_views(conn: Connection, form_pk: int) -> list[str]:
    """Drop and create the views of one form (by ``forms.id``) from all its versions; returns their names.

    Runs inside the caller's transaction (publishing calls it in the publish transaction), so a failure
    leaves the previous views in place. Encrypted forms get a view without field columns.
    """
    form = conn.execute(text("SELECT project_id, xml_form_id FROM forms WHERE id = :id"), {"id": form_pk}).one_or_none()
    if form is None:
        return []
    definitions = [
        FormDefinition.from_json(d)
        for d in conn.execute(
            text("SELECT definition FROM form_versions WHERE form_id = :id ORDER BY id"), {"id": form_pk}
        ).scalars()
    ]
    shape = form_shape(definitions)
    _drop_views_of(conn, form_pk)
    created = []
    main = view_name(form.xml_form_id, form.project_id)
    statements = [(main, form_view_sql(main, form_pk, shape), f"Submissions of the form {form.xml_form_id}")]
    for repeat, columns in shape.repeats.items():
        name = view_name(form.xml_form_id, form.project_id, repeat)
        sql = repeat_view_sql(name, form_pk, repeat, shape.repeats, columns)
        statements.append((name, sql, f"Repeat {repeat} of the form {form.xml_form_id}"))
    for name, sql, comment in statements:
        conn.execute(text(f"DROP VIEW IF EXISTS {SCHEMA}.{quote(name)} CASCADE"))
        conn.execute(text(sql))
        described = literal(f"{comment} (project {form.project_id}) [form {form_pk}]")
        conn.execute(text(f"COMMENT ON VIEW {SCHEMA}.{quote(name)} IS {described}"))
        created.append(name)
    return created


def refresh_all_form_views(conn: Connection) -> list[str]:
    """:func:`refresh_form_views` for every form of every project."""
    created = []
    for form_pk in conn.execute(text("SELECT id FROM forms ORDER BY id")).scalars().all():
        created += refresh_form_views(conn, form_pk)
    return created


def drop_all_form_views(conn: Connection) -> None:
    """Drop every form view (not ``forms.plots``): for tests that empty the database."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relkind = 'v' AND obj_description(c.oid, 'pg_class') LIKE '%[form %'"
        ),
        {"schema": SCHEMA},
    ).scalars()
    for name in list(names):
        conn.execute(text(f"DROP VIEW IF EXISTS {SCHEMA}.{quote(name)} CASCADE"))


def view_names(conn: Connection) -> list[str]:
    """The views of the schema ``forms``, by name."""
    return db.scalars(conn, "SELECT viewname FROM pg_views WHERE schemaname = :s ORDER BY 1", {"s": SCHEMA})


def view_columns(conn: Connection, name: str) -> dict[str, str]:
    """``column -> SQL type`` of a view in ``forms`` (``geometry(Point,4326)`` for geometry columns)."""
    rows = conn.execute(
        text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relname = :name AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum"
        ),
        {"schema": SCHEMA, "name": name},
    )
    return dict(rows.all())


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    """The role cannot be made read-only (a bad name, or an existing superuser or role with more rights)."""


def grant_read_only(conn: Connection, role: str, password: str | None = None) -> bool:
    """Create or update the LOGIN role ``role`` that can read the views of ``forms`` and nothing else.

    The role gets CONNECT on this database, USAGE on the schema ``forms``, SELECT on every view in it and,
    through default privileges, on the views created later (as form versions are published); SELECT on the
    PostGIS catalogues QGIS reads (``spatial_ref_sys``, ``geometry_columns``, ``geography_columns``); its
    sessions are read-only and start with ``search_path = forms, public``. It owns nothing and gets no right
    on the base tables: the views read them with their owner's rights. Returns ``True`` when the role was created.

    Raises :class:`RoleError` for a name that is not a plain lowercase identifier, or for an existing role that
    is a superuser or may create roles or databases (it would not be read-only).
    """
    if not _ROLE_NAME.match(role):
        raise RoleError(f"'{role}' is not a plain lowercase role name ([a-z_][a-z0-9_]*, at most 63 characters)")
    existing = conn.execute(
        text("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
        {"r": role},
    ).scalar_one_or_none()
    if existing:
        raise RoleError(f"the role '{role}' exists and has administrative rights; choose another name")
    name = quote(role)
    if existing is None:
        conn.execute(text(f"CREATE ROLE {name}"))
    login = f" PASSWORD {literal(password)}" if password is not None else ""
    conn.execute(text(f"ALTER ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION{login}"))
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    conn.execute(text(f"GRANT CONNECT ON DATABASE {quote(database)} TO {name}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {name}"))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {name}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT SELECT ON TABLES TO {name}"))
    conn.execute(text(f"GRANT SELECT ON spatial_ref_sys, geometry_columns, geography_columns TO {name}"))
    conn.execute(text(f"ALTER ROLE {name} IN DATABASE {quote(database)} SET default_transaction_read_only = on"))
    conn.execute(text(f"ALTER ROLE {name} IN DATABASE {quote(database)} SET search_path = {SCHEMA}, public"))
    return existing is None
