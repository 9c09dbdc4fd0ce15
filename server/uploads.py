"""Reading a multipart submission POST: every file part streams into the blob store's staging area.

werkzeug's multipart parser reads the body in 64 KiB chunks and hands each file part to the stream we
give it, so a 100 MB photo never sits in memory; its SHA-256 is computed on the way.
"""

from __future__ import annotations

from typing import IO

from flask import Request, current_app
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from khoknongna.ingest import ReceivedFile, Upload
from khoknongna.problems import MULTIPART_MALFORMED, TOO_LARGE, XML_SUBMISSION_FILE_MISSING, Problem
from khoknongna.storage.blobs import StagedBlob

XML_PART = "xml_submission_file"


class StagingRequest(Request):
    """A Flask request whose uploaded files are staged blobs, and whose parse errors are not hidden."""

    staged: list[StagedBlob]

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        staged = current_app.extensions["knn"].blobs.stage()
        if not hasattr(self, "staged"):
            self.staged = []
        self.staged.append(staged)
        return staged  # type: ignore[return-value]

    def make_form_data_parser(self) -> FormDataParser:
        return self.form_data_parser_class(
            stream_factory=self._get_file_stream,
            max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length,
            max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class,
            silent=False,
        )

    def discard_staged(self) -> None:
        """Drop every staged file that ingest did not commit."""
        for staged in getattr(self, "staged", []):
            staged.close()


def read_upload(request: StagingRequest, max_instance_bytes: int) -> Upload:
    """The instance XML and the other parts of a submission POST.

    Raises :class:`Problem`: ``MULTIPART_MALFORMED`` (not multipart, no boundary, truncated or broken
    body), ``TOO_LARGE`` (body, XML or part count over the limits), ``XML_SUBMISSION_FILE_MISSING``.
    """
    if request.mimetype != "multipart/form-data":
        raise Problem(MULTIPART_MALFORMED, detail=f"expected multipart/form-data, got '{request.mimetype or 'none'}'")
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise Problem(TOO_LARGE, limit=request.max_content_length) from None
    except ClientDisconnected:
        raise Problem(MULTIPART_MALFORMED, detail="the upload ended early") from None
    except ValueError as exc:
        raise Problem(MULTIPART_MALFORMED, detail=str(exc)) from None
    xml_file = files.get(XML_PART)
    if xml_file is not None:
        xml = xml_file.stream.read(max_instance_bytes + 1)
    elif XML_PART in form:
        xml = form[XML_PART].encode("utf-8")
    else:
        raise Problem(XML_SUBMISSION_FILE_MISSING)
    if len(xml) > max_instance_bytes:
        raise Problem(TOO_LARGE, limit=max_instance_bytes)
    received = {
        name: ReceivedFile(staged=f.stream, content_type=f.mimetype or None)  # type: ignore[arg-type]
        for name, f in files.items()
        if name != XML_PART
    }
    return Upload(xml=xml, files=received)
