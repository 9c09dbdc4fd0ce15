"""ODK Central's CSV export of a form (``…/submissions.csv.zip``, ``…/submissions.csv``): the tables, their
columns named as Central names them, and the rows a submission gives each table.

Central's rules (central-backend ``lib/data/briefcase.js``, ``streamBriefcaseCsvs``):

- The root table ``<formID>.csv``: ``SubmissionDate``, then one column per question in document order, named by
  its path with ``-`` between the groups (``owner-owner_name``; only the name with ``groupPaths=false``), then
  ``KEY, SubmitterID, SubmitterName, AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID,
  Edits, FormVersion``.
- A geopoint is four columns ``<name>-Latitude``, ``-Longitude``, ``-Altitude``, ``-Accuracy``; geotraces and
  geoshapes stay one column of ODK's ``lat lon alt acc;…`` text. Answers are the text as submitted.
- Each repeat is a table of its own, ``<formID>-<repeat name>.csv`` (``~1``, ``~2`` … when two repeats share a
  name), holding the questions inside it (paths relative to the repeat), then ``PARENT_KEY`` and ``KEY``.
  ``KEY`` is ``<instanceID>/<group>/<repeat>[<position>]``; ``PARENT_KEY`` the ``KEY`` of the enclosing repeat
  instance, or the instanceID.
- ``SubmissionDate`` is UTC with milliseconds; ``ReviewState`` is empty for a submission nobody reviewed;
  ``Status`` is ``not decrypted`` for an encrypted submission (its answers are empty).
- File names made safe (:func:`khoknongna.file_names.safe_name`, as Central's ``sanitize-filename``);
  media files as ``media/<name>``.
- CSV with ``\\n`` line ends, quoted only where needed, UTF-8 without a byte-order mark (csv-stringify).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from khoknongna.central import Field, actor_id, iso, review_state
from khoknongna.file_names import safe_name
from khoknongna.odata import Node, tree
from khoknongna.odata import _text as answer_text

#: The columns after the questions of the root table, in Central's order.
ROOT_TRAILER = (
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
)
GEOPOINT_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


@dataclass
class Table:
    """One CSV of the export: its file name, header, and the questions whose answers fill it (in column
    order; a geopoint fills four columns)."""

    file_name: str
    repeat: Field | None
    header: list[str] = field(default_factory=list)
    questions: list[Field] = field(default_factory=list)


def tables(fields: list[Field], xml_form_id: str, *, group_paths: bool = True) -> list[Table]:
    """The tables of the export, the root first, then each repeat in document order."""
    root = Table(f"{safe_name(xml_form_id)}.csv", None, ["SubmissionDate"])
    out = [root]

    def walk(node: Node, table: Table) -> None:
        for child in node.children:
            f = child.field
            assert f is not None
            if f.kind == "repeat":
                inner = Table("", f)
                out.append(inner)
                walk(child, inner)
                inner.header += ["PARENT_KEY", "KEY"]
            elif f.kind == "structure":
                walk(child, table)
            else:
                base = table.repeat.path if table.repeat else ""
                name = f.path[len(base) + 1 :].replace("/", "-") if group_paths else f.name
                table.questions.append(f)
                if f.kind == "geopoint":
                    table.header += [f"{name}-{part}" for part in GEOPOINT_PARTS]
                else:
                    table.header.append(name)

    walk(tree(fields), root)
    root.header += ROOT_TRAILER
    repeats = out[1:]
    totals: dict[str, int] = {}
    for t in repeats:
        assert t.repeat is not None
        totals[t.repeat.name] = totals.get(t.repeat.name, 0) + 1
    counts: dict[str, int] = {}
    for t in repeats:
        assert t.repeat is not None
        name = t.repeat.name
        if totals[name] > 1:
            counts[name] = counts.get(name, 0) + 1
            t.file_name = safe_name(f"{xml_form_id}-{name}~{counts[name]}.csv")
        else:
            t.file_name = safe_name(f"{xml_form_id}-{name}.csv")
    return out


def _cells(f: Field, raw: Any) -> list[str | None]:
    text = answer_text(raw)
    if f.kind != "geopoint":
        return [text]
    parts: list[str | None] = list(text.split()) if text else []
    return (parts + [None] * 4)[:4]


def _dig(data: Any, steps: list[str]) -> Any:
    for step in steps:
        data = data.get(step) if isinstance(data, dict) else None
    return data


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])


def rows_of(tables_: list[Table], row: Any) -> dict[str, list[list[Any]]]:
    """``file name -> rows`` a submission gives each table (``row`` from ``storage.central.odata_rows``).

    Repeat rows follow the nesting of the answers: a repeat's instances are found under the instance of the
    enclosing repeat (or under the submission), by their paths relative to it."""
    instance_id = row.instance_id
    data = {} if row.encrypted else (row.data if isinstance(row.data, dict) else {})
    out: dict[str, list[list[Any]]] = {t.file_name: [] for t in tables_}
    root = tables_[0]
    repeats = tables_[1:]

    def questions(table: Table, scope: Any, base: str) -> list[Any]:
        cells: list[Any] = []
        for f in table.questions:
            cells += _cells(f, _dig(scope, f.path[len(base) + 1 :].split("/")))
        return cells

    def fill(parent: Table | None, scope: Any, base: str, key: str) -> None:
        """The repeats directly inside ``parent`` (the root when ``None``), read from ``scope``."""
        for table in repeats:
            r = table.repeat
            assert r is not None
            enclosing = next((t for t in reversed(repeats) if t.repeat and _inside(r, t.repeat)), None)
            if enclosing is not parent:
                continue
            steps = r.path[len(base) + 1 :].split("/")
            holder = _dig(scope, steps[:-1])
            prefix = "/".join([key, *steps[:-1]])
            for position, item in enumerate(_items(_dig(holder, steps[-1:])), start=1):
                item_key = f"{prefix}/{steps[-1]}[{position}]"
                out[table.file_name].append([*questions(table, item, r.path), key, item_key])
                fill(table, item, r.path, item_key)

    main = [iso(row.created_at), *questions(root, data, "")]
    if row.encrypted:
        main = [main[0]] + [None] * (len(root.header) - 1 - len(ROOT_TRAILER))
    submitter = actor_id(row.submitter_id, row.app_user_id)
    main += [
        instance_id,
        submitter,
        row.submitter_name if submitter is not None else None,
        row.attachments_present or 0,
        row.attachments_expected or 0,
        "not decrypted" if row.encrypted else None,
        review_state(row.review_state),
        row.device_id,
        row.edits,
        row.form_version,
    ]
    out[root.file_name].append(main)
    if not row.encrypted:
        fill(None, data, "", instance_id)
    return out


def _inside(inner: Field, outer: Field) -> bool:
    return inner.path.startswith(outer.path + "/")


def writer(target: IO[str]) -> Any:
    """A CSV writer as Central's (csv-stringify): ``\\n`` line ends, quoting only where needed."""
    return csv.writer(target, lineterminator="\n")


def write_rows(target: Any, rows: Iterable[list[Any]]) -> None:
    """Write rows with ``None`` as an empty cell."""
    target.writerows([["" if v is None else v for v in r] for r in rows])


def text_io(binary: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 text over a binary stream (no byte-order mark, as Central)."""
    return io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)


class _Sink(io.RawIOBase):
    """A write-only byte stream whose bytes are taken out as they come (zipfile writes to it; no seeking)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


#: Bytes gathered before they are sent on.
CHUNK_BYTES = 1 << 16


def stream_csv(tables_: list[Table], rows: Iterable[Any]) -> Iterator[bytes]:
    """The root table alone (``submissions.csv``), as bytes while the submissions are read."""
    sink = _Sink()
    out = writer(text_io(sink))
    out.writerow(tables_[0].header)
    for row in rows:
        write_rows(out, rows_of(tables_[:1], row)[tables_[0].file_name])
        if len(sink.buffer) >= CHUNK_BYTES:
            yield sink.take()
    yield sink.take()


def stream_zip(
    tables_: list[Table], rows: Iterable[Any], media: Callable[[], Iterable[tuple[str, IO[bytes]]]] | None = None
) -> Iterator[bytes]:
    """The zip of every table (``submissions.csv.zip``) and, when ``media`` is given, the files it yields as
    ``media/<name>``, as bytes while they are read: memory stays flat however many submissions there are.

    The root table is written into the zip as the submissions are read; the repeat tables go to temporary
    files meanwhile (a zip holds one member open at a time) and follow it.
    """
    sink = _Sink()
    spools = {t.file_name: tempfile.TemporaryFile() for t in tables_[1:]}  # noqa: SIM115 - closed below
    try:
        spool_writers = {name: writer(text_io(f)) for name, f in spools.items()}
        for t in tables_[1:]:
            spool_writers[t.file_name].writerow(t.header)
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open(tables_[0].file_name, "w", force_zip64=True) as member:
                root = writer(text_io(member))
                root.writerow(tables_[0].header)
                for row in rows:
                    for name, table_rows in rows_of(tables_, row).items():
                        write_rows(spool_writers.get(name, root), table_rows)
                    if len(sink.buffer) >= CHUNK_BYTES:
                        yield sink.take()
            for name, spool in spools.items():
                spool.seek(0)
                with archive.open(name, "w", force_zip64=True) as member:
                    for chunk in iter(lambda s=spool: s.read(CHUNK_BYTES), b""):
                        member.write(chunk)
                        yield sink.take()
            for name, source in media() if media is not None else ():
                info = zipfile.ZipInfo(f"media/{safe_name(name)}")
                info.compress_type = zipfile.ZIP_STORED  # photos are compressed already
                with source, archive.open(info, "w", force_zip64=True) as member:
                    for chunk in iter(lambda s=source: s.read(CHUNK_BYTES), b""):
                        member.write(chunk)
                        yield sink.take()
        yield sink.take()
    finally:
        for spool in spools.values():
            spool.close()
