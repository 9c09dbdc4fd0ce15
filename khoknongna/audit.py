"""Audit signals for supervisors: reused photos, implausible visits and GPS that cannot be trusted.

For one submission (its current version; encrypted ones cannot be read and are skipped):

* its photos are hashed (``khoknongna.photos``: SHA-256 from the blob store's key, pHash, EXIF) into
  ``photo_hashes``;
* ``photo_reused_exact`` and ``photo_reused_near`` look for the same files and pictures in other submissions;
* ``photo_exif`` compares EXIF times with the reporting period and EXIF positions with the plot's boundary;
* ``gps_untrusted`` looks at accuracies, copied coordinates and uniform geoshapes (``spatial/gps_trust.py``);
* ``impossible_travel`` compares the collector's previous and next submissions (``spatial/travel.py``);
* ``certification_missing`` (daily log only): the owner's name and signature.

Each result is stored per submission and rule in ``audit_signals``. A signal found between two submissions
(a shared photo, copied coordinates, a journey) is true of both, so :func:`audit_submission` also names the
submissions to audit again (``khoknongna/jobs.py`` queues them, coalesced). Every lookup is an index range with a
LIMIT (:data:`LOOKUP_LIMIT`), so one audit costs the same however many submissions were made at the same spot or
with the same photo. docs/audit.md describes every rule, its threshold and these bounds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from khoknongna.photos import (
    BANGKOK,
    ExifFacts,
    PhotoInfo,
    PhotoMatch,
    PhotoRules,
    days_before,
    exact_reuse_signal,
    exif_signal,
    near_reuse_signal,
    read_photo_bytes,
)
from khoknongna.plot_checks import plot_boundary
from khoknongna.settings import Settings
from khoknongna.spatial.evidence import distance_outside_m
from khoknongna.spatial.gps_trust import GeoAnswer, SameSpot, gps_trust_check
from khoknongna.spatial.odk_geo import parse_odk_geo
from khoknongna.spatial.results import CheckResult, Finding
from khoknongna.spatial.rules import GpsTrustRules, TravelRules
from khoknongna.spatial.travel import Visit, travel_check
from khoknongna.storage import audit as queries
from khoknongna.storage import checks as check_queries
from khoknongna.storage import submissions as submission_queries
from khoknongna.storage.blobs import BlobNotFound, BlobStore, BlobStoreError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
CERTIFICATION_RULE, CERTIFICATION_VERSION = "certification_missing", 1
#: Forms whose every submission the plot owner certifies: formID -> (owner's name, owner's signature) paths.
#: Source: seed 004 ๔.๒ (the daily log, certified by the owner every working day); docs/forms.md.
CERTIFIED_FORMS = {"daily_log": ("certification/owner_name", "certification/owner_signature")}
#: Most other submissions one lookup returns: copies of one photo, near duplicates of one photo, submissions about
#: other plots at one geopoint (each side of the submission's own plot). Findings list at most these.
LOOKUP_LIMIT = 20
#: Most related submissions one audit names for auditing again.
RELATED_LIMIT = 50
#: Answers that date the period a submission reports on, in order of preference (docs/forms.md).
PERIOD_FIELDS = ("report_month", "work_date", "visit_date")


@dataclass(frozen=True)
class AuditRules:
    """The thresholds of every signal, as configured (GPS trust has no setting: its rules are fixed)."""

    photos: PhotoRules
    travel: TravelRules
    gps: GpsTrustRules = field(default_factory=GpsTrustRules)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditRules:
        return cls(
            photos=PhotoRules(
                max_distance=settings.audit_phash_max_distance,
                max_age_days=settings.audit_exif_max_age_days,
                max_distance_m=settings.audit_exif_max_distance_m,
            ),
            travel=TravelRules(max_speed_kmh=settings.audit_max_speed_kmh, min_distance_m=settings.audit_min_travel_m),
        )


def leaf_paths(data: Any, path: str = "") -> list[tuple[str, Any]]:
    """``(path, value)`` of every answer in ``data`` (groups joined with ``/``, repeat instances flattened)."""
    if isinstance(data, dict):
        return [
            pair
            for key, value in data.items()
            if not key.startswith("@")
            for pair in leaf_paths(value, f"{path}/{key}" if path else key)
        ]
    if isinstance(data, list):
        return [pair for item in data for pair in leaf_paths(item, path)]
    return [(path, data)]


def _answer(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.split("/"):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _is_photo(name: str, content_type: str | None, field_path: str | None) -> bool:
    if field_path is not None and "signature" in field_path.rsplit("/", 1)[-1]:
        return False  # a signature drawn on the screen, not a photo of the plot
    return name.lower().endswith(IMAGE_EXTENSIONS) or (content_type or "").startswith("image/")


def _hash_photos(conn: Connection, blobs: BlobStore, sub: Any, files: list[Any]) -> list[dict[str, Any]]:
    """Hash the photos among ``files`` (``queries.attachments`` of the submission's current version), reusing
    hashes of files already hashed, and store them; returns the rows stored."""
    fields = {value: path for path, value in leaf_paths(sub.data) if isinstance(value, str)}
    stored = queries.hashes_of(conn, sub.submission_id)
    rows = []
    for attachment in files:
        field_path = fields.get(attachment.name)
        if not _is_photo(attachment.name, attachment.content_type, field_path):
            continue
        known = stored.get(attachment.name)
        if known is None or known.blob_sha256 != attachment.blob_sha256:
            known = queries.hash_of_blob(conn, attachment.blob_sha256)
        if known is not None:
            info = PhotoInfo(
                known.phash,
                known.width,
                known.height,
                known.exif_taken_at,
                known.exif_lon,
                known.exif_lat,
                known.problem,
            )
        else:
            try:
                with blobs.open(attachment.blob_sha256) as f:
                    info = read_photo_bytes(f.read())
            except (BlobNotFound, BlobStoreError) as exc:
                info = PhotoInfo(problem=f"file not readable from the blob store: {exc}"[:300])
        rows.append(
            {
                "attachment_name": attachment.name,
                "field_path": field_path,
                "blob_sha256": attachment.blob_sha256,
                "phash": info.phash,
                "width": info.width,
                "height": info.height,
                "exif_taken_at": info.taken_at,
                "exif_lon": info.lon,
                "exif_lat": info.lat,
                "plot_uuid": sub.plot_uuid,
                "problem": info.problem,
            }
        )
    queries.save_photo_hashes(conn, sub.submission_id, rows)
    return rows


def _near_matches(conn: Connection, sub: Any, photos: list[dict[str, Any]], rules: PhotoRules) -> list[PhotoMatch]:
    found = []
    for photo in photos:
        if photo["phash"] is None:
            continue
        for other in queries.near_photos(conn, photo["phash"], rules.max_distance, limit=LOOKUP_LIMIT):
            if other.blob_sha256 == photo["blob_sha256"]:
                continue  # the same file: photo_reused_exact says so
            found.append((photo["attachment_name"], other))
    labels = queries.submission_labels(conn, {o.submission_id for _, o in found})
    return [
        PhotoMatch(
            name,
            o.submission_id,
            labels[o.submission_id].instance_id,
            labels[o.submission_id].xml_form_id,
            o.attachment_name,
            o.plot_uuid,
            o.distance,
        )
        for name, o in found
        if o.submission_id in labels
    ]


def period_start(data: dict[str, Any], received_at: datetime) -> date:
    """The first day of the period a submission reports on: its report month, work date or visit date, else the
    day its form was opened (``start``), else the day it was received (Asia/Bangkok)."""
    for name in PERIOD_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and len(value) >= 7:
            try:
                return date.fromisoformat(value[:10]) if len(value) >= 10 else date.fromisoformat(value[:7] + "-01")
            except ValueError:
                continue
    started = instance_time(data.get("start"))
    return (started or received_at).astimezone(BANGKOK).date()


def instance_time(value: Any) -> datetime | None:
    """An instance's ``start``/``end`` metadata (ISO 8601, with offset as Collect writes it) as an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BANGKOK)


def _exif(conn: Connection, sub: Any, photos: list[dict[str, Any]], rules: PhotoRules) -> CheckResult:
    start = period_start(sub.data, sub.received_at)
    boundary = None
    if sub.plot_entity_id is not None:
        plot = check_queries.plot_for_check(conn, sub.plot_entity_id)
        found = plot_boundary(plot.properties, plot.data) if plot is not None else None
        boundary = found.polygon() if found is not None else None
    facts = [
        ExifFacts(
            p["attachment_name"],
            p["exif_taken_at"],
            days_before(p["exif_taken_at"], start),
            distance_outside_m(p["exif_lon"], p["exif_lat"], boundary)
            if boundary is not None and p["exif_lon"] is not None
            else None,
        )
        for p in photos
    ]
    return exif_signal(len(photos), facts, start, rules)


def _answers(conn: Connection, version_id: int) -> list[GeoAnswer]:
    answers = []
    for row in submission_queries.geo_answers(conn, version_id):
        parsed = parse_odk_geo(row.geo_type, row.raw_value)
        if parsed.geometry is not None:
            answers.append(GeoAnswer(row.name, row.geo_type, parsed.geometry.vertices))
    return answers


def collector_of(sub: Any) -> str | None:
    """Who filled in the submission: the app user or the user, and the device (``app_user:3/collect:abc``)."""
    who = f"app_user:{sub.app_user_id}" if sub.app_user_id else f"user:{sub.submitter_id}" if sub.submitter_id else None
    return f"{who}/{sub.device_id or ''}" if who else None


def _save_visit(conn: Connection, sub: Any, answers: list[GeoAnswer]) -> Visit | None:
    """Record where and when the submission's collector was (its start time and first geopoint) and return it;
    ``None`` without a start time, a geopoint or a collector (a visit recorded by an earlier audit is forgotten)."""
    started, ended = instance_time(sub.data.get("start")), instance_time(sub.data.get("end"))
    point = next((a.vertices[0] for a in answers if a.geo_type == "geopoint"), None)
    collector = collector_of(sub)
    if started is None or point is None or collector is None:
        queries.save_visit(conn, sub.submission_id, None)
        return None
    ended = ended if ended is not None and ended >= started else started
    visit = {"collector": collector, "started_at": started, "ended_at": ended, "lon": point[0], "lat": point[1]}
    queries.save_visit(conn, sub.submission_id, visit)
    return Visit(sub.submission_id, sub.instance_id, started, ended, point[0], point[1])


def _travel(conn: Connection, here: Visit | None, rules: TravelRules) -> tuple[CheckResult | None, Any, Any]:
    """Check the journeys to and from the visit ``here`` (as :func:`_save_visit` recorded it): the result
    (``None`` without a visit) and the collector's visits just before and after (``queries.neighbour_visits``
    rows, ``None`` when there is none)."""
    if here is None:
        return None, None, None
    before, after = queries.neighbour_visits(conn, here.submission_id)
    previous, following = (
        Visit(r.submission_id, r.instance_id, r.started_at, r.ended_at, r.lon, r.lat) if r is not None else None
        for r in (before, after)
    )
    return travel_check(here, previous, following, rules), before, after


def certification_check(form_id: str, data: dict[str, Any], received: set[str]) -> CheckResult:
    """``certification_missing`` v1: a daily log needs the plot owner's name and signature (a file that has
    arrived). Source: seed 004 ๔.๒ "เจ้าของพื้นที่…เป็นผู้รับรองข้อมูลทุกวันที่ปฏิบัติงาน"."""
    name_path, signature_path = CERTIFIED_FORMS[form_id]
    name = _answer(data, name_path)
    signature = _answer(data, signature_path)
    findings = []
    if not (isinstance(name, str) and name.strip()):
        findings.append(
            Finding(
                "no_owner_name",
                {"field": name_path},
                "ไม่มีชื่อเจ้าของแปลงผู้รับรอง",
                "The certifying owner's name is missing.",
            )
        )
    if not (isinstance(signature, str) and signature.strip()):
        findings.append(
            Finding(
                "no_signature",
                {"field": signature_path},
                "ไม่มีลายมือชื่อเจ้าของแปลง",
                "The owner's signature is missing.",
            )
        )
    elif signature not in received:
        findings.append(
            Finding(
                "signature_not_received",
                {"field": signature_path, "attachment": signature},
                f"ยังไม่ได้รับไฟล์ลายมือชื่อ {signature}",
                f"The signature file {signature} has not arrived.",
            )
        )
    numbers = {
        "has_owner_name": not any(f.code == "no_owner_name" for f in findings),
        "has_signature": not any(f.code != "no_owner_name" for f in findings),
    }
    if not findings:
        return CheckResult.passed(
            CERTIFICATION_RULE,
            CERTIFICATION_VERSION,
            numbers,
            "บันทึกนี้มีชื่อและลายมือชื่อเจ้าของแปลงผู้รับรอง",
            "This log has the certifying owner's name and signature.",
        )
    return CheckResult(
        CERTIFICATION_RULE,
        CERTIFICATION_VERSION,
        "raised",
        numbers,
        "บันทึกการปฏิบัติงานประจำวันนี้ไม่มีการรับรองของเจ้าของแปลงครบถ้วน (" + " ".join(f.message_th for f in findings) + ")",
        "This daily log is not certified by the plot owner (" + " ".join(f.message_en for f in findings) + ")",
        tuple(findings),
    )


def _same_spots(conn: Connection, sub: Any) -> tuple[list[SameSpot], set[int], set[int]]:
    """The submission's geopoints shared with submissions about other plots (at most :data:`LOOKUP_LIMIT` per
    side of its own plot, per point), and the submissions whose ``gps_untrusted`` this one changes, at most
    :data:`LOOKUP_LIMIT` per point: those about another plot, and the older ones about its own plot.

    Earlier submissions at a spot learn something only when it had one other plot and never this one (with two
    other plots there, or this plot there before, each of them already had another plot beside it): then the
    latest submissions about that plot at the spot are named. When one of those, audited again, learns of
    another plot for the first time, it names the next older ones about its plot there, and so on: every
    submission at the spot learns of it, each in a job of its own, however many there are. "First" is by
    submission id: of two submissions about one plot audited at the same time, each may see the other's point,
    and only the older one names the others there."""
    known_before = queries.same_coordinates_before(conn, sub.submission_id)
    if sub.plot_uuid is None:
        return [], set(), set()
    by_point: dict[str, list[Any]] = {}
    for row in queries.same_spots(conn, sub.submission_id, limit=LOOKUP_LIMIT):
        by_point.setdefault(row.name, []).append(row)
    spots: list[SameSpot] = []
    changed: set[int] = set()
    older: set[int] = set()
    for name, rows in by_point.items():
        spots += [SameSpot(name, r.lon, r.lat, r.other_submission_id, r.other_instance_id, r.other_plot) for r in rows]
        here, plots = rows[0], {r.other_plot for r in rows}
        if known_before == 0:  # audited again, and the first time it sees another plot here
            older |= set(
                queries.submissions_at(
                    conn, here.lon, here.lat, sub.plot_uuid, besides=sub.submission_id, limit=LOOKUP_LIMIT, older=True
                )
            )
        elif len(plots) == 1 and not queries.submissions_at(
            conn, here.lon, here.lat, sub.plot_uuid, besides=sub.submission_id, limit=1, older=True
        ):
            changed |= set(
                queries.submissions_at(
                    conn, here.lon, here.lat, plots.pop(), besides=sub.submission_id, limit=LOOKUP_LIMIT
                )
            )
    return spots, changed, older


def audit_submission(
    conn: Connection, blobs: BlobStore, submission_id: int, rules: AuditRules, *, again: bool = False
) -> tuple[list[CheckResult], list[int]]:
    """Compute and store every signal of one submission. Returns the results and the other submissions whose
    signals this one may change, to audit again: the collector's visits it makes impossible or arrives between
    first, then the latest others named by a shared photo or copied position; at most :data:`RELATED_LIMIT`.
    Audited ``again`` (because a newer submission named it), only the older submissions about its plot at a spot
    where it has just learned of another plot (never the newer one again, so re-audits end). ``([], [])`` for an
    encrypted or unknown submission.

    Commits once, midway: the photo hashes, points and visit, before comparing them with others (so ``conn`` must
    not be in a context-managed transaction such as ``engine.begin()``). The caller commits the signals, with the
    re-audits it queues."""
    sub = queries.submission_for_audit(conn, submission_id)
    if sub is None or sub.encrypted or sub.data is None:
        return [], []
    results: list[CheckResult] = []
    files = submission_queries.attachments(conn, sub.version_id, arrived=True)
    photos = _hash_photos(conn, blobs, sub, files)
    answers = _answers(conn, sub.version_id)
    queries.save_points(conn, sub.submission_id, sub.version_id, sub.plot_uuid)
    here = _save_visit(conn, sub, answers)
    # What others compare with is committed before this audit compares: of two audits at the same time, the one
    # comparing later then sees the other's photos, points and visit (read committed), and names it to audit again.
    conn.commit()
    queries.hold_submission_for_audit(conn, submission_id)  # its own first audit and re-audit, one after the other
    exact = [PhotoMatch(**r._mapping) for r in queries.exact_matches(conn, submission_id, limit=LOOKUP_LIMIT)]
    near = _near_matches(conn, sub, photos, rules.photos)
    if photos:
        results.append(exact_reuse_signal(len(photos), exact, sub.plot_uuid))
        results.append(near_reuse_signal(len(photos), near, sub.plot_uuid, rules.photos))
        results.append(_exif(conn, sub, photos, rules.photos))
    spots, spot_related, spot_older = _same_spots(conn, sub)
    if answers:
        results.append(gps_trust_check(answers, spots, rules.gps))
    travel, before, after = _travel(conn, here, rules.travel)
    if travel is not None:
        results.append(travel)
    if sub.xml_form_id in CERTIFIED_FORMS:
        received = {a.name for a in files}
        results.append(certification_check(sub.xml_form_id, sub.data, received))
    queries.save_signals(conn, submission_id, sub.plot_uuid, results)
    if again:
        return results, sorted(spot_older, reverse=True)[:RELATED_LIMIT]
    # Arriving between two visits changes both of their neighbours; arriving last changes the previous one's
    # verdict only when the journey is impossible, and then a finding names it.
    visits = {before.submission_id, after.submission_id} if before is not None and after is not None else set()
    for result in results:
        if result.rule == "impossible_travel":
            visits |= {int(f.numbers["other_submission_id"]) for f in result.findings}  # type: ignore[arg-type]
    others = {m.other_submission_id for m in exact + near} | spot_related | spot_older
    related = sorted(visits - {submission_id}) + sorted(others - visits - {submission_id}, reverse=True)
    return results, related[:RELATED_LIMIT]


def explain_signal(conn: Connection, submission_id: int, rule: str, user_id: int, reason: str) -> Any:
    """Mark the raised signal ``rule`` of a submission as explained (it stops counting) and keep the change in the
    trail of explanations; commits. Returns the signal row, or ``None`` when the submission has no such raised
    signal (nothing is changed then)."""
    explained = queries.explain(conn, submission_id, rule, user_id, reason)
    if explained is None:
        conn.rollback()
        return None
    conn.commit()
    logger.info("signal %s of submission %d explained by user %d", rule, submission_id, user_id)
    return explained


def area_summary(
    conn: Connection,
    project_id: int,
    year: int,
    month: int,
    area_code: str | None,
    *,
    rule: str | None = None,
    include_explained: bool = False,
) -> dict[str, Any]:
    """Raised signals of the submissions received in the month (Asia/Bangkok) about plots of the area:
    ``{"counts": {rule: unexplained count}, "total": n, "signals": [entry…]}``; each entry names the submission,
    form, plot, area, its position (first geopoint, for the map), the rule's result and its explanation."""
    start = datetime(year, month, 1, tzinfo=BANGKOK)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=BANGKOK)
    rows = queries.area_signals(conn, project_id, start, end, area_code, rule=rule, include_explained=include_explained)
    counts: dict[str, int] = {}
    for r in rows:
        if r.explained_at is None:
            counts[r.rule] = counts.get(r.rule, 0) + 1
    signals = [
        {
            "instanceId": r.instance_id,
            "formId": r.xml_form_id,
            "plot": r.plot_uuid,
            "area_code": r.area_code,
            "received_at": r.received_at.isoformat(),
            "lon": r.lon,
            "lat": r.lat,
            **r.result,
            "explained": (
                {"at": r.explained_at.isoformat(), "by": r.explained_by, "reason": r.explanation}
                if r.explained_at
                else None
            ),
        }
        for r in rows
    ]
    return {"counts": dict(sorted(counts.items())), "total": sum(counts.values()), "signals": signals}
