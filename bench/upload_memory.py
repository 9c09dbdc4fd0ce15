#!/usr/bin/env python3
"""How much memory does a running server use to receive one very large attachment?

Uploads one submission of the plot survey whose photo is ``--mb`` MiB (default 100), streamed from a
temporary file with a ``Content-Length`` as Collect sends it, while sampling the resident memory (RSS) of
the server's processes every 20 ms. Prints the RSS before the upload, the peak during it and the
difference. The server must accept bodies that large (``KNN_MAX_REQUEST_BYTES``, default 256 MiB).

::

    khoknongna serve --port 8000 --workers 1 &
    python bench/upload_memory.py --server http://127.0.0.1:8000 --user U --password P --pid <serve pid>

``--pid`` is the process id of ``khoknongna serve`` (or of the gunicorn master); its worker processes
are found with psutil.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid

import psutil
import requests
from requests.auth import HTTPDigestAuth

MB = 1024 * 1024
BOUNDARY = "upload-memory-benchmark"


def plot_xml(instance_id: str, photo: str) -> bytes:
    ring = "16.4419 102.836 162 3.5;16.4422 102.836 162 3.5;16.4422 102.8363 162 3.5;16.4419 102.836 162 3.5"
    return (
        f'<data id="plot_survey" version="2026112101"><programme>covid_loan</programme><model>HLM</model>'
        f"<size_class>1</size_class><boundary>{ring}</boundary><location>16.4419 102.836 162 4.8</location>"
        f"<photo_overview>{photo}</photo_overview><meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def write_body(path: str, size: int) -> int:
    photo = f"{int(time.time() * 1000)}.jpg"
    with open(path, "wb") as out:
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="s.xml"\r\n'
            f"Content-Type: text/xml\r\n\r\n".encode()
            + plot_xml(f"uuid:{uuid.uuid4()}", photo)
            + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="{photo}"; filename="{photo}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
        )
        block = os.urandom(MB)
        for _ in range(size // MB):
            out.write(block)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return os.path.getsize(path)


def server_rss(root: psutil.Process) -> int:
    processes = [root, *root.children(recursive=True)]
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--pid", type=int, required=True, help="pid of khoknongna serve / the gunicorn master")
    parser.add_argument("--mb", type=int, default=100, help="size of the photo in MiB")
    args = parser.parse_args()

    root = psutil.Process(args.pid)
    auth = HTTPDigestAuth(args.user, args.password) if args.user else None
    url = args.server.rstrip("/") + "/submission"
    session = requests.Session()
    session.head(url, auth=auth, headers={"X-OpenRosa-Version": "1.0"}, timeout=60)  # sign in first

    with tempfile.NamedTemporaryFile(suffix=".multipart") as tmp:
        length = write_body(tmp.name, args.mb * MB)
        before = server_rss(root)
        peak, done = before, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, server_rss(root))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        with open(tmp.name, "rb") as body:
            response = session.post(
                url,
                data=body,
                auth=auth,
                timeout=600,
                headers={
                    "X-OpenRosa-Version": "1.0",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": str(length),
                },
            )
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()

    print(f"upload       {args.mb} MiB photo, {length} bytes, status {response.status_code}, {elapsed:.1f} s")
    print(f"server RSS   before {before / MB:.1f} MiB, peak {peak / MB:.1f} MiB")
    print(f"increase     {(peak - before) / MB:.1f} MiB")
    return 0 if response.status_code == 201 else 1


if __name__ == "__main__":
    raise SystemExit(main())
