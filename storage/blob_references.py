"""Which blobs the database refers to: XForms and XLSForms of form versions, form media, submission files,
the frozen files of signed-off monthly reports.

Used by ``khoknongna blobs verify`` and ``blobs cleanup``; every column that holds a blob key is listed
here, so a new one must be added here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, Text, literal, null, select, union_all

from khoknongna.storage.schema import (
    form_attachments,
    form_versions,
    forms,
    report_signoffs,
    submission_attachments,
    submission_versions,
)


@dataclass(frozen=True)
class BlobReference:
    """One row that refers to a blob: what it is (for people) and the size it recorded, when it did."""

    where: str
    size: int | None


def _statement():  # type: ignore[no-untyped-def]
    fv = form_versions.join(forms, forms.c.id == form_versions.c.form_id)
    xform = select(
        form_versions.c.xform_sha256.label("sha256"),
        (
            literal("form ")
            + forms.c.xml_form_id
            + literal(" version '")
            + form_versions.c.version
            + literal("' XForm")
        ).label("where"),
        null().cast(BigInteger).label("size"),
    ).select_from(fv)
    xlsform = (
        select(
            form_versions.c.xlsform_sha256,
            (
                literal("form ")
                + forms.c.xml_form_id
                + literal(" version '")
                + form_versions.c.version
                + literal("' XLSForm")
            ),
            null().cast(BigInteger),
        )
        .select_from(fv)
        .where(form_versions.c.xlsform_sha256.is_not(None))
    )
    media = (
        select(
            form_attachments.c.blob_sha256,
            (literal("form ") + forms.c.xml_form_id + literal(" media ") + form_attachments.c.name),
            form_attachments.c.size,
        )
        .select_from(fv.join(form_attachments, form_attachments.c.form_version_id == form_versions.c.id))
        .where(form_attachments.c.blob_sha256.is_not(None))
    )
    files = (
        select(
            submission_attachments.c.blob_sha256,
            (
                literal("submission ")
                + submission_versions.c.instance_id
                + literal(" file ")
                + submission_attachments.c.name
            ),
            submission_attachments.c.size,
        )
        .select_from(
            submission_attachments.join(
                submission_versions, submission_versions.c.id == submission_attachments.c.submission_version_id
            )
        )
        .where(submission_attachments.c.blob_sha256.is_not(None))
    )
    signoff = literal("monthly report ") + report_signoffs.c.district_code + literal(" ") + report_signoffs.c.month
    revision = literal(" revision ") + report_signoffs.c.revision.cast(Text)
    pdf = select(report_signoffs.c.pdf_sha256, signoff + revision + literal(" PDF"), report_signoffs.c.pdf_size)
    xlsx = select(report_signoffs.c.xlsx_sha256, signoff + revision + literal(" XLSX"), report_signoffs.c.xlsx_size)
    return union_all(xform, xlsform, media, files, pdf, xlsx)


def referenced_blobs(conn: Connection) -> dict[str, BlobReference]:
    """Every blob key the database refers to, each with one of the rows that refer to it."""
    found: dict[str, BlobReference] = {}
    for sha256, where, size in conn.execute(_statement()):
        if sha256 not in found or (found[sha256].size is None and size is not None):
            found[sha256] = BlobReference(where, size)
    return found
