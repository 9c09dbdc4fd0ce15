"""Queries of the audit signals: what a signal reads (a submission, its photos, its collector's other visits),
the near-duplicate photo search, and the signals and explanations stored.

Photo hashes are kept for the current version of each submission (replaced when it is audited again). A signal
is kept per submission and rule and replaced when recomputed; its explanation survives a recomputation. The
trail of explanations (``signal_explanations``) is only ever inserted into (a trigger refuses the rest).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from sqlalchemy import Connection, Row, text

from khoknongna.spatial.results import CheckResult
from khoknongna.storage import db
from khoknongna.storage.schema import PHASH_BANDS, audit_signals, collector_visits, photo_hashes
from khoknongna.storage.submissions import ANSWER_NAME

_PHOTO_COLUMNS = (
    "field_path",
    "blob_sha256",
    "phash",
    "width",
    "height",
    "exif_taken_at",
    "exif_lon",
    "exif_lat",
    "plot_uuid",
    "problem",
)
_SAVE_PHOTO_HASH = db.upsert(photo_hashes, ("submission_id", "attachment_name"), _PHOTO_COLUMNS, stamp="hashed_at")
_SAVE_VISIT = db.upsert(collector_visits, ("submission_id",), ("collector", "started_at", "ended_at", "lon", "lat"))
_SAVE_SIGNAL = db.upsert(
    audit_signals, ("submission_id", "rule"), ("rule_version", "plot_uuid", "status", "result"), stamp="computed_at"
)

#: The plot a submission version is about: its ``plot`` answer, else the plot entity it wrote (a plot survey).
PLOT_OF_VERSION = (
    "COALESCE(lower(sv.data->>'plot'), (SELECT e.uuid FROM entity_versions ev JOIN entities e ON e.id = ev.entity_id"
    " JOIN datasets d ON d.id = e.dataset_id AND d.name = 'plots' WHERE ev.submission_version_id = sv.id LIMIT 1))"
)


#: The advisory lock class of one submission's audits (an arbitrary constant, the same in every process).
AUDIT_LOCK_CLASS = 7_240_051


def hold_submission_for_audit(conn: Connection, submission_id: int) -> None:
    """Wait until no other transaction compares this submission's audit, and hold that until this transaction
    ends (``pg_advisory_xact_lock`` on this class and the id): a first audit and a re-audit of one submission
    then compute its signals one after the other, the second knowing the first's. Audits of different
    submissions run side by side."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:class, CAST(:id % 2147483647 AS integer))"),
        {"class": AUDIT_LOCK_CLASS, "id": submission_id},
    )


def submission_for_audit(conn: Connection, submission_id: int) -> Row | None:
    """``(submission_id, project_id, xml_form_id, instance_id, version_id, encrypted, data, submitter_id,
    app_user_id, device_id, received_at, plot_uuid, plot_entity_id)`` of the current version of a submission."""
    return db.row(
        conn,
        "SELECT s.id AS submission_id, f.project_id, f.xml_form_id, sv.instance_id, sv.id AS version_id,"  # noqa: S608 - fixed fragments, values bound
        "       sv.encrypted, sv.data, sv.submitter_id, sv.app_user_id, sv.device_id, s.created_at AS received_at,"
        f"      {PLOT_OF_VERSION} AS plot_uuid, p.entity_id AS plot_entity_id"
        " FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        f" LEFT JOIN plots p ON p.project_id = f.project_id AND p.uuid = {PLOT_OF_VERSION}"
        " WHERE s.id = :id",
        {"id": submission_id},
    )


def submission_ids(conn: Connection, project_id: int | None = None, since: datetime | None = None) -> list[int]:
    """Submissions (of a project, received since ``since``) that can be audited (not encrypted), oldest first."""
    return db.scalars(
        conn,
        "SELECT s.id FROM submissions s JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current AND NOT sv.encrypted"
        " WHERE (CAST(:project AS integer) IS NULL OR f.project_id = :project)"
        " AND (CAST(:since AS timestamptz) IS NULL OR s.created_at >= :since) ORDER BY s.id",
        {"project": project_id, "since": since},
    )


def hashes_of(conn: Connection, submission_id: int) -> dict[str, Row]:
    """``attachment_name -> photo_hashes row`` of a submission."""
    rows = conn.execute(text("SELECT * FROM photo_hashes WHERE submission_id = :id"), {"id": submission_id})
    return {r.attachment_name: r for r in rows}


def hash_of_blob(conn: Connection, blob_sha256: str) -> Row | None:
    """A stored hash of the same file (the same bytes have the same pHash and EXIF), if any."""
    return db.row(conn, "SELECT * FROM photo_hashes WHERE blob_sha256 = :sha LIMIT 1", {"sha": blob_sha256})


def save_photo_hashes(conn: Connection, submission_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Make the photo hashes of a submission exactly ``rows``: dicts of ``attachment_name`` and every column of
    ``_PHOTO_COLUMNS`` (a column left out would be stored as NULL)."""
    names = [r["attachment_name"] for r in rows]
    conn.execute(
        text("DELETE FROM photo_hashes WHERE submission_id = :id AND NOT (attachment_name = ANY(:names))"),
        {"id": submission_id, "names": names},
    )
    if rows:
        conn.execute(_SAVE_PHOTO_HASH, [{"submission_id": submission_id, **row} for row in rows])


_OTHER = (
    " JOIN submissions os ON os.id = o.submission_id JOIN forms of ON of.id = os.form_id"
    " JOIN submission_versions osv ON osv.submission_id = os.id AND osv.current"
)


def exact_matches(conn: Connection, submission_id: int, *, limit: int) -> list[Row]:
    """Photos of the submission whose file is also a photo elsewhere: ``(name, other_submission_id,
    other_instance_id, other_form_id, other_name, other_plot)``; the same file twice in the submission too. At most
    ``limit`` other copies per file, the latest submissions first: one backward scan of
    ``ix_photo_hashes_blob_sha256_submission_id`` per file, planned for that file (a file copied thousands of times
    is then known to the planner as such, which a join would hide)."""
    mine = conn.execute(
        text("SELECT DISTINCT blob_sha256 FROM photo_hashes WHERE submission_id = :id"), {"id": submission_id}
    ).scalars()
    rows: list[Row] = []
    for sha in mine:
        rows += conn.execute(
            text(
                "SELECT m.attachment_name AS name, o.submission_id AS other_submission_id,"  # noqa: S608 - fixed fragments, values bound
                "       osv.instance_id AS other_instance_id, of.xml_form_id AS other_form_id,"
                "       o.attachment_name AS other_name, o.plot_uuid AS other_plot"
                " FROM ((SELECT id, submission_id, attachment_name, plot_uuid FROM photo_hashes"
                "   WHERE blob_sha256 = :sha AND submission_id <> :id ORDER BY submission_id DESC LIMIT :limit)"
                "  UNION ALL (SELECT id, submission_id, attachment_name, plot_uuid FROM photo_hashes"
                "   WHERE blob_sha256 = :sha AND submission_id = :id)) o"
                f" {_OTHER}"
                " JOIN photo_hashes m ON m.submission_id = :id AND m.blob_sha256 = :sha AND m.id <> o.id"
            ),
            {"id": submission_id, "sha": sha, "limit": limit},
        ).all()
    return sorted(rows, key=lambda r: (r.name, r.other_submission_id, r.other_name))


def band_probes(phash: int, radius: int) -> list[list[int]]:
    """For each 16-bit band of ``phash`` (as :data:`PHASH_BANDS` cuts it), every value within ``radius`` bits."""
    unsigned = phash & 0xFFFF_FFFF_FFFF_FFFF
    probes = []
    for shift in (48, 32, 16, 0):
        band = (unsigned >> shift) & 0xFFFF
        values = [band]
        for r in range(1, radius + 1):
            values += [band ^ sum(1 << b for b in bits) for bits in combinations(range(16), r)]
        probes.append(values)
    return probes


def near_photos(conn: Connection, phash: int, max_distance: int, *, limit: int = 100) -> list[Row]:
    """Stored photos whose pHash is within ``max_distance`` bits of ``phash``: ``(id, submission_id,
    attachment_name, blob_sha256, plot_uuid, distance)``, closest first; at most ``limit``, from at most ``limit``
    matches per band (so a picture stored many times costs the same as one stored a few times).

    Candidates come from the four band indexes: two 64-bit hashes within distance d agree to within
    ``d // 4`` bits on at least one 16-bit band (pigeonhole), so each band is probed for every value within
    that radius (1, 17 or 137 values for radius 0, 1, 2); the exact distance is computed on candidates only.
    """
    radius = max_distance // 4
    probes = band_probes(phash, radius)
    # One index-only scan per band (the indexes include phash and id), the distance computed there and stopped
    # after ``limit`` matches; only the matches are read from the table.
    bands = " UNION ".join(
        f"(SELECT id FROM photo_hashes WHERE phash IS NOT NULL AND {band} = ANY(:b{n})"  # noqa: S608 - fixed fragments
        " AND bit_count(CAST(phash # :h AS bit(64))) <= :max LIMIT :limit)"
        for n, band in enumerate(PHASH_BANDS)
    )
    return db.rows(
        conn,
        "SELECT id, submission_id, attachment_name, blob_sha256, plot_uuid,"  # noqa: S608 - fixed fragments
        "       bit_count(CAST(phash # :h AS bit(64))) AS distance"
        f" FROM photo_hashes WHERE id = ANY(ARRAY({bands})) ORDER BY distance, id LIMIT :limit",
        {"h": phash, "max": max_distance, "limit": limit, **{f"b{n}": p for n, p in enumerate(probes)}},
    )


def submission_labels(conn: Connection, submission_ids: Iterable[int]) -> dict[int, Row]:
    """``submission_id -> (instance_id, xml_form_id)`` of the current versions."""
    rows = conn.execute(
        text(
            "SELECT s.id, sv.instance_id, f.xml_form_id FROM submissions s JOIN forms f ON f.id = s.form_id"
            " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current WHERE s.id = ANY(:ids)"
        ),
        {"ids": list(submission_ids)},
    )
    return {r.id: r for r in rows}


_SAVE_POINTS = text(
    "INSERT INTO audit_points (submission_id, name, lon, lat, plot_uuid)"  # noqa: S608 - a fixed expression
    " SELECT DISTINCT ON (name) :id, name, ST_X(geom), ST_Y(geom), :plot FROM ("
    f"   SELECT {ANSWER_NAME} AS name, geom, id FROM submission_geometries"
    "   WHERE submission_version_id = :version AND geo_type = 'geopoint' AND geom IS NOT NULL) g"
    " ORDER BY name, id"
)


def save_points(conn: Connection, submission_id: int, version_id: int, plot_uuid: str | None) -> None:
    """Make ``audit_points`` of a submission the valid geopoints of its version ``version_id`` (none when it is
    about no plot), each named by its path and repeat positions (``where``, ``visits/where[2]``)."""
    conn.execute(text("DELETE FROM audit_points WHERE submission_id = :id"), {"id": submission_id})
    if plot_uuid is None:
        return
    conn.execute(_SAVE_POINTS, {"id": submission_id, "version": version_id, "plot": plot_uuid})


def same_spots(conn: Connection, submission_id: int, *, limit: int) -> list[Row]:
    """Geopoints of the submission (as :func:`save_points` stored them) at exactly the coordinates of a geopoint
    of another submission about another plot: ``(name, lon, lat, plot_uuid, other_submission_id,
    other_instance_id, other_plot)``, by name. Per point, at most ``limit`` from the plots sorting just below the
    submission's own and ``limit`` from those just above: two range scans of ``ix_audit_points_spot_plot`` that
    skip the submissions about its own plot, however many there are."""
    side = (
        "(SELECT o.submission_id, o.plot_uuid FROM audit_points o WHERE o.lon = m.lon AND o.lat = m.lat"
        " AND o.plot_uuid {op} m.plot_uuid ORDER BY o.plot_uuid {order}, o.submission_id {order} LIMIT :limit)"
    )
    return db.rows(
        conn,
        "SELECT m.name, m.lon, m.lat, m.plot_uuid, o.submission_id AS other_submission_id,"  # noqa: S608 - fixed fragments, values bound
        "       sv.instance_id AS other_instance_id, o.plot_uuid AS other_plot"
        " FROM audit_points m CROSS JOIN LATERAL ("
        f" {side.format(op='<', order='DESC')} UNION ALL {side.format(op='>', order='ASC')}) o"
        " JOIN submission_versions sv ON sv.submission_id = o.submission_id AND sv.current"
        " WHERE m.submission_id = :id ORDER BY m.name, o.plot_uuid, o.submission_id",
        {"id": submission_id, "limit": limit},
    )


def submissions_at(
    conn: Connection, lon: float, lat: float, plot_uuid: str, *, besides: int, limit: int, older: bool = False
) -> list[int]:
    """The latest (at most ``limit``) submissions other than ``besides`` (older than it, with ``older``) with a
    geopoint at exactly ``lon``, ``lat`` about ``plot_uuid``: one backward range scan of
    ``ix_audit_points_spot_plot``."""
    return db.scalars(
        conn,
        "SELECT DISTINCT submission_id FROM audit_points"
        " WHERE lon = :lon AND lat = :lat AND plot_uuid = :plot AND submission_id <> :besides"
        " AND (NOT :older OR submission_id < :besides) ORDER BY submission_id DESC LIMIT :limit",
        {"lon": lon, "lat": lat, "plot": plot_uuid, "besides": besides, "limit": limit, "older": older},
    )


def same_coordinates_before(conn: Connection, submission_id: int) -> int | None:
    """How many geopoints about other plots the stored ``gps_untrusted`` of a submission found at its own
    positions; ``None`` before it was first computed."""
    return conn.execute(
        text(
            "SELECT CAST(result->'numbers'->>'same_coordinates' AS integer) FROM audit_signals"
            " WHERE submission_id = :id AND rule = 'gps_untrusted'"
        ),
        {"id": submission_id},
    ).scalar_one_or_none()


def save_visit(conn: Connection, submission_id: int, visit: dict[str, Any] | None) -> None:
    """Record (or forget, with ``None``) where and when the submission's collector was."""
    if visit is None:
        conn.execute(text("DELETE FROM collector_visits WHERE submission_id = :id"), {"id": submission_id})
        return
    conn.execute(_SAVE_VISIT, {"submission_id": submission_id, **visit})


def neighbour_visits(conn: Connection, submission_id: int) -> tuple[Row | None, Row | None]:
    """The same collector's visits just before and just after this one by start time (ties by submission id):
    ``(submission_id, instance_id, started_at, ended_at, lon, lat)`` each, or ``None``. Each is one step of
    ``ix_collector_visits_collector_started_at_submission_id`` from this visit, however many the collector made."""
    me = conn.execute(
        text("SELECT collector, started_at FROM collector_visits WHERE submission_id = :id"), {"id": submission_id}
    ).one_or_none()
    if me is None:
        return None, None
    step = (
        "SELECT v.submission_id, sv.instance_id, v.started_at, v.ended_at, v.lon, v.lat FROM"
        " (SELECT * FROM collector_visits WHERE collector = :collector"
        "  AND (started_at, submission_id) {op} (:started_at, :id)"
        "  ORDER BY started_at {order}, submission_id {order} LIMIT 1) v"
        " JOIN submission_versions sv ON sv.submission_id = v.submission_id AND sv.current"
    )
    params = {"collector": me.collector, "started_at": me.started_at, "id": submission_id}
    before = conn.execute(text(step.format(op="<", order="DESC")), params).one_or_none()
    after = conn.execute(text(step.format(op=">", order="ASC")), params).one_or_none()
    return before, after


def save_signals(conn: Connection, submission_id: int, plot_uuid: str | None, results: Sequence[CheckResult]) -> None:
    """Store the signals of a submission, replacing earlier results per rule and keeping their explanations.
    Unexplained signals of rules that no longer apply (an edit removed the photos) are removed; explained ones
    stay, since the trail of explanations refers to them. Marks the submission as audited now."""
    conn.execute(text("UPDATE submissions SET audited_at = now() WHERE id = :id"), {"id": submission_id})
    conn.execute(
        text(
            "DELETE FROM audit_signals WHERE submission_id = :id AND NOT (rule = ANY(:rules)) AND explained_at IS NULL"
        ),
        {"id": submission_id, "rules": [r.rule for r in results]},
    )
    if results:
        rows = [
            {
                "submission_id": submission_id,
                "rule": r.rule,
                "rule_version": r.rule_version,
                "plot_uuid": plot_uuid,
                "status": r.status,
                "result": r.to_dict(),
            }
            for r in results
        ]
        conn.execute(_SAVE_SIGNAL, rows)


def submissions_not_audited(conn: Connection, grace: timedelta, limit: int = 1000) -> list[int]:
    """Submissions (not encrypted) whose audit signals were never computed, or not since their current version or
    its latest file arrived, for longer than ``grace`` (a job lost, not one still waiting): at most ``limit``."""
    return db.scalars(
        conn,
        "SELECT s.id FROM submissions s JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " CROSS JOIN LATERAL (SELECT greatest(sv.received_at, max(a.received_at)) AS changed_at"
        "   FROM submission_attachments a WHERE a.submission_version_id = sv.id) c"
        " WHERE sv.data IS NOT NULL AND NOT sv.encrypted"
        " AND (s.audited_at IS NULL OR s.audited_at < c.changed_at) AND c.changed_at < now() - :grace"
        " ORDER BY s.id LIMIT :limit",
        {"grace": grace, "limit": limit},
    )


_SIGNAL_COLUMNS = (
    "a.id, a.rule, a.rule_version, a.status, a.result, a.computed_at, a.plot_uuid, a.explained_at,"
    " a.explanation, u.username AS explained_by"
)


def signals_of_submission(conn: Connection, submission_id: int) -> list[Row]:
    """Every signal of a submission, by rule, with who explained it."""
    return db.rows(
        conn,
        f"SELECT {_SIGNAL_COLUMNS} FROM audit_signals a LEFT JOIN users u ON u.id = a.explained_by"  # noqa: S608 - fixed fragments, values bound
        " WHERE a.submission_id = :id ORDER BY a.rule",
        {"id": submission_id},
    )


def explain(conn: Connection, submission_id: int, rule: str, user_id: int, reason: str) -> Row | None:
    """Mark the raised signal ``rule`` of a submission as explained by ``user_id`` with ``reason`` and append
    the change (before and after) to ``signal_explanations``. ``None`` when there is no such raised signal."""
    before = conn.execute(
        text(
            "SELECT id, status, result, explained_at, explained_by, explanation FROM audit_signals"
            " WHERE submission_id = :id AND rule = :rule AND status = 'raised' FOR UPDATE"
        ),
        {"id": submission_id, "rule": rule},
    ).one_or_none()
    if before is None:
        return None
    after = conn.execute(
        text(
            "UPDATE audit_signals SET explained_at = now(), explained_by = :user, explanation = :reason"
            " WHERE id = :id RETURNING id, status, result, explained_at, explained_by, explanation"
        ),
        {"id": before.id, "user": user_id, "reason": reason},
    ).one()
    conn.execute(
        text(
            "INSERT INTO signal_explanations (signal_id, submission_id, rule, explained_by, explained_at, reason,"
            " before, after) VALUES (:signal, :submission, :rule, :user, :at, :reason,"
            " CAST(:before AS jsonb), CAST(:after AS jsonb))"
        ),
        {
            "signal": before.id,
            "submission": submission_id,
            "rule": rule,
            "user": user_id,
            "at": after.explained_at,
            "reason": reason,
            "before": _json(before),
            "after": _json(after),
        },
    )
    return after


def _json(row: Row) -> str:
    value = {
        "status": row.status,
        "result_status": row.result.get("status"),
        "numbers": row.result.get("numbers"),
        "explained_at": row.explained_at.isoformat() if row.explained_at else None,
        "explained_by": row.explained_by,
        "explanation": row.explanation,
    }
    return json.dumps(value, ensure_ascii=False)


def explanations_of(conn: Connection, submission_id: int) -> list[Row]:
    """The trail of explanations of a submission's signals, oldest first."""
    return db.rows(
        conn,
        "SELECT x.rule, x.explained_at, u.username AS explained_by, x.reason, x.before, x.after"
        " FROM signal_explanations x JOIN users u ON u.id = x.explained_by"
        " WHERE x.submission_id = :id ORDER BY x.id",
        {"id": submission_id},
    )


def area_signals(
    conn: Connection,
    project_id: int,
    start: datetime,
    end: datetime,
    area_code: str | None,
    *,
    rule: str | None = None,
    include_explained: bool = False,
) -> list[Row]:
    """Raised signals of the submissions received in ``[start, end)`` about plots of the area (every submission
    of the project without an area): ``(submission_id, instance_id, xml_form_id, plot_uuid, area_code, rule,
    rule_version, result, explained_at, explanation, explained_by, lon, lat, received_at)``; unexplained only
    unless ``include_explained``. ``lon``/``lat`` is the submission's first geopoint, for the map."""
    return db.rows(
        conn,
        "SELECT a.submission_id, sv.instance_id, f.xml_form_id, a.plot_uuid, p.area_code, a.rule,"
        "       a.rule_version, a.result, a.explained_at, a.explanation, u.username AS explained_by,"
        "       ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat, s.created_at AS received_at"
        " FROM audit_signals a JOIN submissions s ON s.id = a.submission_id"
        " JOIN forms f ON f.id = s.form_id"
        " JOIN submission_versions sv ON sv.submission_id = s.id AND sv.current"
        " LEFT JOIN plots p ON p.project_id = f.project_id AND p.uuid = a.plot_uuid"
        " LEFT JOIN users u ON u.id = a.explained_by"
        " LEFT JOIN LATERAL (SELECT geom FROM submission_geometries WHERE submission_version_id = sv.id"
        "      AND geo_type = 'geopoint' AND geom IS NOT NULL ORDER BY id LIMIT 1) g ON true"
        " WHERE f.project_id = :project AND a.status = 'raised'"
        " AND s.created_at >= :start AND s.created_at < :end"
        " AND (CAST(:area AS text) IS NULL OR left(p.area_code, length(:area)) = :area)"
        " AND (CAST(:rule AS text) IS NULL OR a.rule = :rule)"
        " AND (:explained OR a.explained_at IS NULL)"
        " ORDER BY s.created_at, a.submission_id, a.rule",
        {
            "project": project_id,
            "start": start,
            "end": end,
            "area": area_code,
            "rule": rule,
            "explained": include_explained,
        },
    )


def to_json(rows: Sequence[Row]) -> list[dict]:
    """Stored signals as JSON-ready dicts: the rule's own dict, when computed, and its explanation if any."""
    out = []
    for r in rows:
        explained = (
            {"at": r.explained_at.isoformat(), "by": r.explained_by, "reason": r.explanation}
            if r.explained_at
            else None
        )
        out.append({**r.result, "computed_at": r.computed_at.isoformat(), "explained": explained})
    return out
