"""Reading a multipart submission POST as it streams in, with python-multipart.

The instance XML part is kept in memory (it is bounded, and must be parsed whole); every other file part
is streamed into the blob store's staging area while its SHA-256 is computed, so a 100 MB photo never
sits in memory. Part names are decoded as UTF-8, as ODK Collect sends them.

Refused while the body streams in, before anything is stored: a part whose ``name`` or ``filename`` is a
path rather than a name (``khoknongna.file_names.refusal``: absolute, ``..``, backslash, control
characters), a second ``xml_submission_file``, and a file part larger than the ``X-OpenRosa-Accept-Content-
Length`` the server advertises (Collect splits a submission into POSTs under that size, so only a single
file over it can be; ODK Central's proxy refuses such a body as well). Every staged part is then removed.

Source: RFC 7578 (multipart/form-data); OpenRosa form submission API (part ``xml_submission_file``,
one part per attachment named by its file name).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from khoknongna.file_names import refusal
from khoknongna.ingest import ReceivedFile, Upload
from khoknongna.problems import (
    FILE_TOO_LARGE,
    MULTIPART_MALFORMED,
    PART_NAME_REFUSED,
    STORAGE_FAILED,
    TOO_LARGE,
    XML_SUBMISSION_FILE_MISSING,
    XML_SUBMISSION_FILE_REPEATED,
    Problem,
)
from khoknongna.settings import Settings
from khoknongna.storage.blobs import BlobStore, BlobStoreError, StagedBlob

XML_PART = "xml_submission_file"
CHUNK = 64 * 1024
#: Form fields without a file name (``*isIncomplete*``) are small; anything bigger is refused.
MAX_FIELD_BYTES = 64 * 1024


def _shown(name: str) -> str:
    """A refused name as it can be shown in a message: escapes for what is invisible, at most 120 characters."""
    return repr(name)[1:-1][:120]


def _checked(raw: bytes) -> str:
    """The decoded part ``name`` or ``filename``; :class:`Problem` ``PART_NAME_REFUSED`` when it is a path."""
    name = _decode(raw)
    reason = refusal(name)
    if reason is not None:
        raise Problem(PART_NAME_REFUSED, name=_shown(name), reason=reason)
    return name


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class _Part:
    name: str = ""
    content_type: str | None = None
    is_file: bool = False
    memory: bytearray | None = None
    staged: StagedBlob | None = None


@dataclass
class _Collector:
    """Receives python-multipart's callbacks and sorts the parts into an :class:`Upload`."""

    blobs: BlobStore
    settings: Settings
    xml: bytes | None = None
    files: dict[str, ReceivedFile] = field(default_factory=dict)
    parts: int = 0
    ended: bool = False
    _part: _Part | None = None
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.settings.max_form_parts:
            raise Problem(TOO_LARGE, limit=f"{self.settings.max_form_parts} parts")
        self._part = _Part()

    def header_end(self) -> None:
        name = bytes(self._header_name).strip().lower()
        value = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()
        if name == b"content-disposition":
            _, options = parse_options_header(value)
            self._part.name = _checked(options.get(b"name", b""))
            self._part.is_file = b"filename" in options
            if self._part.is_file:
                _checked(options[b"filename"])
        elif name == b"content-type":
            self._part.content_type = _decode(value) or None

    def headers_finished(self) -> None:
        part = self._part
        if part.name == XML_PART and self.xml is not None:
            raise Problem(XML_SUBMISSION_FILE_REPEATED)  # which one is meant cannot be known
        if part.is_file and part.name != XML_PART:
            part.staged = self.blobs.stage()
        else:
            part.memory = bytearray()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.staged is not None:
            part.staged.write(data[start:end])
            if part.staged.size > self.settings.accept_content_length:
                raise Problem(FILE_TOO_LARGE, name=_shown(part.name), limit=self.settings.accept_content_length)
            return
        part.memory.extend(data[start:end])
        limit = self.settings.max_instance_bytes if part.name == XML_PART else MAX_FIELD_BYTES
        if len(part.memory) > limit:
            raise Problem(TOO_LARGE, limit=limit)

    def part_end(self) -> None:
        part, self._part = self._part, None
        if part.name == XML_PART:
            self.xml = bytes(part.memory)
        elif part.staged is not None:
            previous = self.files.get(part.name)
            if previous is not None:
                previous.staged.close()  # a repeated part name: the last one wins
            self.files[part.name] = ReceivedFile(staged=part.staged, content_type=part.content_type)

    def end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        for received in self.files.values():
            received.staged.close()
        if self._part is not None and self._part.staged is not None:
            self._part.staged.close()


def read_upload(request: Request, settings: Settings, blobs: BlobStore) -> Upload:
    """The instance XML and the staged attachments of a submission POST.

    The caller must close the staged files it does not commit. Raises :class:`Problem`:
    ``MULTIPART_MALFORMED`` (not multipart, no boundary, truncated or broken body), ``TOO_LARGE``
    (body, XML, a field or the number of parts over the limits), ``FILE_TOO_LARGE`` (one file over the
    advertised accept content length), ``PART_NAME_REFUSED``, ``XML_SUBMISSION_FILE_MISSING``,
    ``XML_SUBMISSION_FILE_REPEATED``, and
    ``STORAGE_FAILED`` (503) when a part cannot be staged (disk full).
    """
    if request.mimetype != "multipart/form-data":
        raise Problem(MULTIPART_MALFORMED, detail=f"expected multipart/form-data, got '{request.mimetype or 'none'}'")
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise Problem(MULTIPART_MALFORMED, detail="the Content-Type header has no boundary")
    collector = _Collector(blobs, settings)
    try:
        parser = MultipartParser(boundary.encode("latin-1"), collector.callbacks())
        stream = request.stream  # enforces MAX_CONTENT_LENGTH: 413 rather than a silent cut
        while chunk := stream.read(CHUNK):
            parser.write(chunk)
        parser.finalize()
        if not collector.ended:
            raise Problem(MULTIPART_MALFORMED, detail="the upload ended before its closing boundary")
    except RequestEntityTooLarge:
        collector.discard()
        raise Problem(TOO_LARGE, limit=settings.max_request_bytes) from None
    except ClientDisconnected:
        collector.discard()
        raise Problem(MULTIPART_MALFORMED, detail="the upload ended early") from None
    except BlobStoreError as exc:  # before ValueError's branch: the disk is full, the upload is fine
        collector.discard()
        raise Problem(STORAGE_FAILED, detail=str(exc)) from None
    except (MultipartParseError, ValueError) as exc:
        collector.discard()
        raise Problem(MULTIPART_MALFORMED, detail=str(exc)) from None
    except BaseException:
        collector.discard()
        raise
    if collector.xml is None:
        collector.discard()
        raise Problem(XML_SUBMISSION_FILE_MISSING)
    return Upload(xml=collector.xml, files=collector.files)


def drain(request: Request, limit: int) -> bool:
    """Read and discard what is left of the request body, up to ``limit`` bytes; whether it was read to its end.

    An answer sent before the body is read (a 401 to a POST without credentials, a refused upload) is lost
    when the server then closes the connection with bytes still unread: the kernel resets it, and the
    client sees a broken pipe instead of the answer (gunicorn's sync workers close after every request and
    do not read what the app left). A body announced larger than ``limit`` is not read at all.
    """
    if request.content_length is not None and request.content_length > limit:
        return False
    read = 0
    try:
        stream = request.stream
        while chunk := stream.read(CHUNK):
            read += len(chunk)
            if read > limit:
                return False
    except (ClientDisconnected, RequestEntityTooLarge, OSError, ValueError):
        return False
    return True
