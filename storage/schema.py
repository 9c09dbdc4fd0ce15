"""The database schema as SQLAlchemy Core tables (the migrations in ``storage/migrations`` create it).

Naming follows ODK Central where it has a word for the thing: a *form* has *form versions* (each one an
XForm), a *submission* has *submission versions* (each one an instance with its own instanceID; an edit
names the one it replaces in ``meta/deprecatedID``).

A column takes NULL unless it says ``nullable=False`` (or is part of the primary key): SQLAlchemy's default.
A foreign-key column names no type: SQLAlchemy gives it the type of the ``id`` it references (``Integer`` or
``BigInteger``), so the two always match. A plain one-column index is ``index=True`` on its column: its name
comes from the naming convention below (``ix_<table>_<column>``), as the migrations spell it.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _table(name: str, *items: SchemaItem) -> Table:
    """A table of this schema: its ``items`` (columns, constraints, indexes) in the module's one ``metadata``,
    so that it is named by the naming convention, created by the tests and compared with the migrations."""
    return Table(name, metadata, *items)


def _id(type_: type[Integer] = Integer) -> Column:
    """The table's ``id``: an identity column (``Integer`` or ``BigInteger``), its primary key."""
    return Column("id", type_, Identity(), primary_key=True)


def _at(name: str, **kwargs: Any) -> Column:
    """A ``timestamp with time zone`` column, so that no date-time of the schema goes without its zone (``kwargs``:
    ``nullable``, ``comment``, ``index``, … as for ``Column``)."""
    return Column(name, DateTime(timezone=True), **kwargs)


def _now(name: str = "created_at", **kwargs: Any) -> Column:
    """A timestamp column the database fills with the time of the insert (``kwargs``: e.g. ``index=True``)."""
    return _at(name, nullable=False, server_default=func.now(), **kwargs)


def _empty_array(name: str, item_type: type[TypeEngine[Any]], comment: str) -> Column:
    """A NOT NULL PostgreSQL array of ``item_type`` that starts out empty (``'{}'``)."""
    return Column(name, ARRAY(item_type), nullable=False, server_default=text("'{}'"), comment=comment)


def _stored_file(blob_comment: str, *, md5: bool = False) -> tuple[Column, ...]:
    """The columns of a named file kept in the blob store, after the key of what it is attached to.

    ``name`` (the rest of the primary key), ``blob_sha256`` (the blob key; NULL until the bytes are stored,
    ``blob_comment`` says when that is), ``md5`` when asked for (the form manifest lists it), ``size`` in bytes
    and ``content_type``.
    """
    return (
        Column("name", Text, primary_key=True),
        Column("blob_sha256", Text, comment=blob_comment),
        *((Column("md5", Text),) if md5 else ()),
        Column("size", BigInteger),
        Column("content_type", Text),
    )


projects = _table(
    "projects",
    _id(),
    Column("name", Text, nullable=False),
    _now(),
)

users = _table(
    "users",
    _id(),
    Column("username", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False, comment="argon2id hash of the password"),
    Column(
        "digest_ha1", Text, comment="MD5(username:realm:password) for HTTP Digest; password-equivalent for that realm"
    ),
    _now(),
    Column("area_code", Text, comment="province (2 digits) or amphoe (4) code of a province or district supervisor"),
    Column(
        "session_generation",
        Integer,
        nullable=False,
        server_default=text("0"),
        comment="raised to end every web session of the user",
    ),
    _at("deactivated_at", comment="when the account stopped signing in; NULL = active"),
    CheckConstraint("role IN ('admin', 'department', 'province', 'district', 'gis', 'collector')", name="role"),
    CheckConstraint(
        "(role = 'province' AND area_code ~ '^[0-9]{2}$') OR (role = 'district' AND area_code ~ '^[0-9]{4}$') "
        "OR (role NOT IN ('province', 'district') AND area_code IS NULL)",
        name="area",
    ),
)

app_users = _table(
    "app_users",
    _id(),
    Column("project_id", ForeignKey(projects.c.id), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("token_sha256", Text, unique=True, comment="SHA-256 of the URL token; NULL once revoked"),
    _now(),
    _at("revoked_at"),
    Column(
        "area_code",
        Text,
        comment="official code of the province (2 digits), amphoe (4) or tambon (6) the app user works in; "
        "NULL = the whole project",
    ),
)

forms = _table(
    "forms",
    _id(),
    Column("project_id", ForeignKey(projects.c.id), nullable=False),
    Column("xml_form_id", Text, nullable=False),
    _now(),
    UniqueConstraint("project_id", "xml_form_id"),
)

form_versions = _table(
    "form_versions",
    _id(),
    Column("form_id", ForeignKey(forms.c.id), nullable=False),
    Column("version", Text, nullable=False, comment="the XForm's version attribute, '' when it has none"),
    Column("title", Text, nullable=False),
    Column("xform_sha256", Text, nullable=False, comment="blob key of the XForm bytes served to Collect"),
    Column("xform_md5", Text, nullable=False),
    Column("xlsform_sha256", Text, comment="blob key of the XLSForm it was converted from"),
    Column("xlsform_name", Text),
    Column("encrypted", Boolean, nullable=False),
    Column("definition", JSONB, nullable=False, comment="field types, repeats and media names of the XForm"),
    _now("published_at"),
    Column("published_by", ForeignKey(users.c.id)),
    UniqueConstraint("form_id", "xform_sha256"),
)

form_attachments = _table(
    "form_attachments",
    Column("form_version_id", ForeignKey(form_versions.c.id), primary_key=True),
    *_stored_file("NULL while the file has not been uploaded", md5=True),
)

submissions = _table(
    "submissions",
    _id(BigInteger),
    Column("form_id", ForeignKey(forms.c.id), nullable=False),
    Column("instance_id", Text, nullable=False, comment="instanceID of the first version"),
    _now(index=True),
    Column("review_state", Text, nullable=False, server_default=text("'received'")),
    Column(
        "area_code",
        Text,
        comment="tambon (or wider) code of the plot it is about, else of its app user; NULL = no area",
    ),
    _at("audited_at", comment="when its audit signals were computed"),
    UniqueConstraint("form_id", "instance_id"),
    CheckConstraint("review_state IN ('received', 'hasIssues', 'edited', 'approved', 'rejected')", name="review_state"),
    Index("ix_submissions_area_code", "area_code", postgresql_ops={"area_code": "text_pattern_ops"}),
)

signin_failures = _table(
    "signin_failures",
    Column("username", Text, primary_key=True, comment="the name tried, cut to 255 characters"),
    Column("address", Text, primary_key=True, comment="client address the guesses came from"),
    Column("failures", Integer, nullable=False),
    Column("first_at", Float, nullable=False, comment="first failure of the count, epoch seconds"),
    Column("locked_until", Float, nullable=False, comment="epoch seconds; 0 = not locked"),
    Column("last_at", Float, nullable=False, comment="latest failure, epoch seconds", index=True),
)

digest_nonce_counts = _table(
    "digest_nonce_counts",
    Column("nonce", Text, primary_key=True),
    Column("nc", BigInteger, nullable=False, comment="highest nonce count accepted"),
    Column("expires_at", Float, nullable=False, comment="when the row may go, epoch seconds", index=True),
)

#: A district's submission of its monthly report (a revision per submission), the files frozen in the blob store.
report_signoffs = _table(
    "report_signoffs",
    _id(BigInteger),
    Column("project_id", ForeignKey(projects.c.id), nullable=False),
    Column("district_code", Text, nullable=False, comment="amphoe code, 4 digits"),
    Column("month", Text, nullable=False, comment="YYYY-MM, the month reported on"),
    Column("revision", Integer, nullable=False, comment="1 for the first submission, then 2, …"),
    _now("submitted_at"),
    Column("submitted_by", ForeignKey(users.c.id)),
    Column("pdf_sha256", Text, nullable=False),
    Column("xlsx_sha256", Text, nullable=False),
    Column("pdf_size", BigInteger, nullable=False),
    Column("xlsx_size", BigInteger, nullable=False),
    Column("plots", Integer, nullable=False),
    Column("reported", Integer, nullable=False),
    Column("on_time", Integer, nullable=False),
    Column("missing", Integer, nullable=False),
    UniqueConstraint("project_id", "district_code", "month", "revision"),
)

api_sessions = _table(
    "api_sessions",
    Column("token_sha256", Text, primary_key=True, comment="SHA-256 of the bearer token"),
    Column("user_id", ForeignKey(users.c.id), nullable=False, index=True),
    Column("generation", Integer, nullable=False, comment="users.session_generation when it was made"),
    _now(),
    _at("expires_at", nullable=False, index=True),
)

submission_comments = _table(
    "submission_comments",
    _id(BigInteger),
    Column("submission_id", ForeignKey(submissions.c.id), nullable=False, index=True),
    Column("user_id", ForeignKey(users.c.id), nullable=False),
    Column("body", Text, nullable=False),
    _now(),
)

#: Who did what, when, with the subject before and after. Append-only: a trigger refuses UPDATE and DELETE.
audit_log = _table(
    "audit_log",
    _id(BigInteger),
    _now("at", index=True),
    Column("actor_id", ForeignKey(users.c.id), comment="NULL = the system/CLI"),
    Column("action", Text, nullable=False, comment="e.g. submission.review, submission.comment, user.create"),
    Column("subject_type", Text, nullable=False, comment="submission, user, app_user, form, signal"),
    Column("subject_id", BigInteger),
    Column("area_code", Text, comment="the subject's area, for scoped reading"),
    Column("before", JSONB),
    Column("after", JSONB),
    Index("ix_audit_log_subject_type_subject_id", "subject_type", "subject_id"),
)

submission_versions = _table(
    "submission_versions",
    _id(BigInteger),
    Column("submission_id", ForeignKey(submissions.c.id), nullable=False, index=True),
    Column("form_id", ForeignKey(forms.c.id), nullable=False),
    Column("form_version_id", ForeignKey(form_versions.c.id), nullable=False),
    Column("instance_id", Text, nullable=False),
    Column("instance_id_made_up", Boolean, nullable=False, server_default=text("false")),
    Column("deprecated_id", Text),
    Column("current", Boolean, nullable=False),
    Column("claimed_version", Text, comment="version attribute as sent, NULL when absent"),
    Column("instance_name", Text),
    Column("encrypted", Boolean, nullable=False),
    Column("xml", Text, nullable=False),
    Column("xml_sha256", Text, nullable=False),
    Column("data", JSONB, comment="the answers; NULL for encrypted submissions"),
    Column("submitter_id", ForeignKey(users.c.id)),
    Column("app_user_id", ForeignKey(app_users.c.id)),
    Column("device_id", Text),
    Column("user_agent", Text),
    _now("received_at"),
    UniqueConstraint("form_id", "instance_id"),
    Index("uq_submission_versions_current", "submission_id", unique=True, postgresql_where=text("current")),
    Index("ix_submission_versions_plot", text("lower(data->>'plot')"), postgresql_where=text("current")),
)

submission_attachments = _table(
    "submission_attachments",
    Column("submission_version_id", ForeignKey(submission_versions.c.id), primary_key=True),
    *_stored_file("NULL until the file arrives (split uploads)"),
    _at("received_at"),
)

submission_geometries = _table(
    "submission_geometries",
    _id(BigInteger),
    Column("submission_version_id", ForeignKey(submission_versions.c.id), nullable=False, index=True),
    Column("field_path", Text, nullable=False, comment="path from the instance root, e.g. parts/part_shape"),
    _empty_array("repeat_position", Integer, "1-based positions of the enclosing repeats, outermost first"),
    Column("geo_type", Text, nullable=False),
    Column(
        "geom",
        Geometry("GEOMETRYZM", srid=4326, spatial_index=False),
        comment="x longitude, y latitude, z altitude m, m accuracy m; NULL when raw_value is not valid",
    ),
    Column("raw_value", Text, nullable=False),
    Column("problem", Text, comment="why raw_value is not a valid ODK geo value"),
    CheckConstraint("geo_type IN ('geopoint', 'geotrace', 'geoshape')", name="geo_type"),
    CheckConstraint("(geom IS NULL) = (problem IS NOT NULL)", name="geom_or_problem"),
    Index("ix_submission_geometries_geom", "geom", postgresql_using="gist"),
    # The typed 2D geometries of the GIS views (storage/gis_views.py), so that map queries use an index.
    *(
        Index(
            f"ix_submission_geometries_{geo_type}_2d",
            text(f"(st_force2d(geom)::geometry({shape},4326))"),
            postgresql_using="gist",
            postgresql_where=text(f"geo_type = '{geo_type}' AND geom IS NOT NULL"),
        )
        for geo_type, shape in (("geopoint", "Point"), ("geotrace", "LineString"), ("geoshape", "Polygon"))
    ),
)

#: Every write to an entity takes the next number, so that a list's version token changes with any write.
entity_changes = Sequence("entity_changes", metadata=metadata)

datasets = _table(
    "datasets",
    _id(),
    Column("project_id", ForeignKey(projects.c.id), nullable=False),
    Column("name", Text, nullable=False, comment="the entity list name forms use (entities sheet list_name)"),
    _empty_array("properties", Text, "property names in the order forms first declared them (the CSV column order)"),
    _now(),
    UniqueConstraint("project_id", "name"),
)

entities = _table(
    "entities",
    _id(BigInteger),
    Column("dataset_id", ForeignKey(datasets.c.id), nullable=False),
    Column("uuid", Text, nullable=False, comment="the entity's name in the CSV: a lowercase UUID, no 'uuid:' prefix"),
    Column("label", Text, nullable=False),
    Column("version", Integer, nullable=False, comment="__version: 1 when created, +1 on every update"),
    Column("properties", JSONB, nullable=False, server_default=text("'{}'"), comment="property name -> text"),
    Column(
        "area_code",
        Text,
        comment="tambon, else amphoe, else province code from the properties; NULL = seen by every app user",
    ),
    Column("change_seq", BigInteger, nullable=False, server_default=text("nextval('entity_changes')")),
    Column("conflict", Text, comment="'soft' or 'hard' when an update was based on an old version"),
    _now(),
    _at("updated_at"),
    _at("deleted_at"),
    Column(
        "geometry",
        Geometry("GEOMETRYZM", srid=4326, spatial_index=False),
        comment="the 'geometry' property as a geometry (x lon, y lat, z altitude m, m accuracy m); NULL without one",
    ),
    UniqueConstraint("dataset_id", "uuid"),
    CheckConstraint("conflict IN ('soft', 'hard')", name="conflict"),
    Index("ix_entities_dataset_id_area_code", "dataset_id", "area_code"),
    Index("ix_entities_geometry", "geometry", postgresql_using="gist"),
)

entity_versions = _table(
    "entity_versions",
    Column("entity_id", ForeignKey(entities.c.id), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("label", Text, nullable=False),
    Column("properties", JSONB, nullable=False),
    Column("base_version", Integer, comment="the version the phone had when it made this update"),
    Column("conflict", Text),
    Column("submission_version_id", ForeignKey(submission_versions.c.id), index=True),
    Column(
        "user_id",
        ForeignKey(users.c.id),
        comment="the user who wrote this version over the API; NULL = a submission wrote it",
    ),
    Column("user_agent", Text),
    _now(),
)

entity_problems = _table(
    "entity_problems",
    _id(BigInteger),
    Column("submission_version_id", ForeignKey(submission_versions.c.id), nullable=False, index=True),
    Column("dataset", Text),
    Column("entity_uuid", Text),
    Column("problem", Text, nullable=False, comment="why the submission's entity block changed nothing"),
    _now(),
)

check_results = _table(
    "check_results",
    _id(BigInteger),
    Column("subject", Text, nullable=False, comment="'plot' (entity_id) or 'submission' (submission_id, about a plot)"),
    Column("entity_id", ForeignKey(entities.c.id), comment="the plot checked or referred to"),
    Column("submission_id", ForeignKey(submissions.c.id)),
    Column("rule", Text, nullable=False, comment="e.g. plot_area, plot_validity, plot_overlaps, plot_parts, evidence"),
    Column("rule_version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("result", JSONB, nullable=False, comment="numbers, findings and Thai/English sentences of the check"),
    Column("checked_version", Integer, comment="the plot entity's __version the result is for"),
    _now("computed_at"),
    CheckConstraint("subject IN ('plot', 'submission')", name="subject"),
    CheckConstraint(
        "(subject = 'plot' AND entity_id IS NOT NULL AND submission_id IS NULL) "
        "OR (subject = 'submission' AND submission_id IS NOT NULL)",
        name="subject_key",
    ),
    Index("uq_check_results_plot_rule", "entity_id", "rule", unique=True, postgresql_where=text("subject = 'plot'")),
    Index(
        "uq_check_results_submission_rule",
        "submission_id",
        "rule",
        unique=True,
        postgresql_where=text("subject = 'submission'"),
    ),
)

#: The four 16-bit bands of a 64-bit pHash, as indexed (migration 0006): two hashes within Hamming distance
#: 4k + 3 share a band within distance k (pigeonhole). See docs/audit.md.
PHASH_BANDS = tuple(f"((phash >> {shift}) & 65535)" for shift in (48, 32, 16, 0))

photo_hashes = _table(
    "photo_hashes",
    _id(BigInteger),
    Column("submission_id", ForeignKey(submissions.c.id), nullable=False),
    Column("attachment_name", Text, nullable=False),
    Column("field_path", Text, comment="the image question it answers, e.g. photos/photo"),
    Column("blob_sha256", Text, nullable=False),
    Column("phash", BigInteger, comment="64-bit DCT perceptual hash (imagehash.phash), signed"),
    Column("width", Integer),
    Column("height", Integer),
    _at("exif_taken_at", comment="EXIF DateTimeOriginal"),
    Column("exif_lon", Float, comment="EXIF GPS longitude, degrees"),
    Column("exif_lat", Float, comment="EXIF GPS latitude, degrees"),
    Column("plot_uuid", Text, comment="the plot the submission is about"),
    Column("problem", Text, comment="why the file could not be read as an image"),
    _now("hashed_at"),
    UniqueConstraint("submission_id", "attachment_name"),
    Index("ix_photo_hashes_blob_sha256_submission_id", "blob_sha256", "submission_id"),
    *(
        Index(
            f"ix_photo_hashes_band{n}",
            text(band),
            postgresql_include=["phash", "id"],
            postgresql_where=text("phash IS NOT NULL"),
        )
        for n, band in enumerate(PHASH_BANDS)
    ),
)

collector_visits = _table(
    "collector_visits",
    Column("submission_id", ForeignKey(submissions.c.id), primary_key=True),
    Column("collector", Text, nullable=False, comment="'app_user:<id>' or 'user:<id>', '/' device id"),
    _at("started_at", nullable=False, comment="the instance's start"),
    _at("ended_at", nullable=False, comment="its end (start when missing)"),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Index("ix_collector_visits_collector_started_at_submission_id", "collector", "started_at", "submission_id"),
)

#: The geopoints of each audited submission about a plot, by place: "the same coordinates in a submission about
#: another plot" is two bounded index probes at one spot (migration 0012, docs/audit.md).
audit_points = _table(
    "audit_points",
    Column("submission_id", ForeignKey(submissions.c.id), primary_key=True),
    Column("name", Text, primary_key=True, comment="the geopoint's path and repeat positions, e.g. where"),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("plot_uuid", Text, nullable=False, comment="the plot the submission is about"),
    Index("ix_audit_points_spot_plot", "lon", "lat", "plot_uuid", "submission_id"),
)

audit_signals = _table(
    "audit_signals",
    _id(BigInteger),
    Column("submission_id", ForeignKey(submissions.c.id), nullable=False),
    Column("rule", Text, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("plot_uuid", Text, comment="the plot the submission is about, when computed"),
    Column("status", Text, nullable=False, comment="'raised' or 'ok'"),
    Column("result", JSONB, nullable=False, comment="numbers, findings and Thai/English sentences"),
    _now("computed_at"),
    _at("explained_at"),
    Column("explained_by", ForeignKey(users.c.id)),
    Column("explanation", Text),
    CheckConstraint("status IN ('raised', 'ok')", name="status"),
    CheckConstraint("(explained_at IS NULL) = (explanation IS NULL)", name="explained"),
    UniqueConstraint("submission_id", "rule"),
    Index("ix_audit_signals_raised", "rule", postgresql_where=text("status = 'raised'")),
)

signal_explanations = _table(
    "signal_explanations",
    _id(BigInteger),
    Column("signal_id", ForeignKey(audit_signals.c.id), nullable=False, index=True),
    Column("submission_id", ForeignKey(submissions.c.id), nullable=False),
    Column("rule", Text, nullable=False),
    Column("explained_by", ForeignKey(users.c.id), nullable=False),
    _now("explained_at"),
    Column("reason", Text, nullable=False),
    Column("before", JSONB, nullable=False, comment="the signal before: status, result, explanation"),
    Column("after", JSONB, nullable=False, comment="the signal after"),
)
