"""File names a phone sends: which are refused, and the safe name used wherever a name becomes a path.

ODK Collect names a part after the file in its instance folder (``1724236923811.jpg``) and the instance XML
names the same file; the server keeps that name as sent, for display and for matching the XML. A name is
used as a *path* in three places: zip entries of the photos export, the ``Content-Disposition`` of a
download, and any file written from an export. There only :func:`safe_name` is used, so a name stored by
an older version (before parts were checked) cannot climb out of its folder either.

Why not ``werkzeug.utils.secure_filename``: it keeps ASCII letters only, so ``ภาพแปลง.jpg`` would become
``jpg`` and two Thai names would collide. The rule here keeps every letter of every script and removes
only what makes a name a path or hides what it is: folder parts (``/``, ``\\`` and their full-width and
other compatibility look-alikes), control and invisible format characters (NUL, escape, right-to-left
override), leading dots and spaces, and the characters Windows refuses in a name (``:*?"<>|``).

Source: RFC 7578 §4.2 (a ``filename`` must not be used as a path); the zip-slip advisories (a zip entry
with ``..`` or a leading ``/`` is written outside the folder it is extracted into); Unicode UAX #15 (NFC
and NFKC normalisation).
"""

from __future__ import annotations

import re
import unicodedata

#: Longest safe name in UTF-8 bytes (most file systems allow 255 bytes per name).
MAX_NAME_BYTES = 255
#: What a name that has nothing safe left becomes.
FALLBACK = "file"
_WINDOWS_RESERVED = re.compile(r'[:*?"<>|]')
_SEPARATORS = re.compile(r"[/\\]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _hidden(char: str) -> bool:
    """Control (Cc), invisible format (Cf: bidi overrides, zero-width marks), line and paragraph separators."""
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def refusal(name: str) -> str | None:
    """Why a multipart part named ``name`` (its ``name`` or ``filename``) is refused; ``None`` when it is fine.

    Refused: an absolute path (``/etc/x.jpg``, ``C:x.jpg``), any backslash, a ``..`` path segment, and any
    control character. The checks run on the name and on its NFKC form too, so that full-width or other
    look-alike dots and slashes (``．．／``) cannot stand in for the real ones.
    """
    for form in dict.fromkeys((name, unicodedata.normalize("NFKC", name))):
        if any(unicodedata.category(c) == "Cc" for c in form):
            return "it contains a control character"
        if "\\" in form:
            return "it contains a backslash"
        if form.startswith("/") or _DRIVE.match(form):
            return "it is an absolute path"
        if ".." in form.split("/"):
            return "it contains a '..' path segment"
    return None


def _cut(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension and whole characters."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = limit - len(suffix.encode())
    return stem.encode()[:room].decode("utf-8", "ignore") + suffix


def safe_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """A name fit for a zip entry, a download header or a file: one path segment, nothing hidden.

    ``name`` is NFC-normalised (so that the same letters always give the same bytes) and cut after its
    last folder separator (``/``, ``\\`` or a character whose NFKC form is one); control, format and line
    separator characters are dropped, Windows-reserved characters become ``_``, leading dots and spaces
    are removed, and the result is cut to ``limit`` UTF-8 bytes (keeping the extension). Never empty:
    :data:`FALLBACK` when nothing is left. Thai and every other script are kept as they are.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join("/" if _SEPARATORS.search(unicodedata.normalize("NFKC", c)) else c for c in text)
    text = text.rsplit("/", 1)[-1]
    text = "".join(c for c in text if not _hidden(c))
    text = _WINDOWS_RESERVED.sub("_", text).lstrip(". ").rstrip(" ")
    text = _cut(text, limit).rstrip(". ")
    return text or FALLBACK


class UniqueNames:
    """Safe names made unique within one folder: the second ``x.jpg`` becomes ``x~2.jpg``.

    Compared without regard to case, as Windows and macOS file systems compare names when a zip is
    extracted.
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def name(self, raw: str) -> str:
        """The safe, not yet taken name for ``raw``; remembers it as taken."""
        base = safe_name(raw)
        candidate, n = base, 1
        while candidate.casefold() in self._taken:
            n += 1
            stem, dot, extension = base.rpartition(".")
            stem, extension = (stem, f".{extension}") if dot and stem else (base, "")
            tail = f"~{n}{extension}"
            candidate = _cut(stem, MAX_NAME_BYTES - len(tail.encode())) + tail
        self._taken.add(candidate.casefold())
        return candidate
