"""A test client that speaks to the app the way ODK Collect does (see the PROTOCOL notes).

* every GET and the submission URL get ``?deviceID=collect:…`` added, including URLs the server wrote;
* credentials are sent only after a 401 challenge, then up front, Digest reusing the nonce with ``nc``
  counting up (Basic only over https, as Collect);
* a submission is a HEAD, then one or more multipart POSTs split like Collect's ``OkHttpConnection``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

DEVICE_ID = "collect:TESTDEVICE0000001"
USER_AGENT = "org.odk.collect.android/v2026.2.1 Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7)"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def parse_challenges(headers: list[str]) -> dict[str, dict[str, str]]:
    """``{"digest": {...}, "basic": {...}}`` from ``WWW-Authenticate`` header values."""
    out = {}
    for value in headers:
        scheme, _, rest = value.partition(" ")
        out[scheme.lower()] = {k.lower(): v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', rest)}
    return out


@dataclass
class CollectClient:
    client: FlaskClient
    username: str | None = None
    password: str | None = None
    base: str = ""
    scheme: str = "http"
    device_id: str = DEVICE_ID
    challenge: dict[str, str] | None = None
    auth_scheme: str | None = None
    nc: int = 0
    log: list[tuple[str, str, int]] = field(default_factory=list)

    def url(self, path_or_url: str) -> str:
        """Absolute or base-relative URL with ``deviceID`` appended as Collect does."""
        url = path_or_url if "://" in path_or_url else f"{self.scheme}://localhost{self.base}{path_or_url}"
        return url + ("&" if "?" in url else "?") + f"deviceID={self.device_id.replace(':', '%3A')}"

    def _authorization(self, method: str, url: str) -> dict[str, str]:
        if self.auth_scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if self.auth_scheme != "digest" or self.challenge is None:
            return {}
        p = self.challenge
        parts = urlsplit(url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", uuid.uuid4().hex[:16]
        ha1 = _md5(f"{self.username}:{p['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        response = _md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        header = (
            f'Digest username="{self.username}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{uri}", '
            f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}", opaque="{p.get("opaque", "")}", '
            "algorithm=MD5"
        )
        return {"Authorization": header}

    def request(
        self, method: str, path_or_url: str, *, headers: dict[str, str] | None = None, **kwargs
    ) -> TestResponse:
        url = self.url(path_or_url)
        extra = headers or {}
        for _ in range(3):
            headers = {
                "X-OpenRosa-Version": "1.0",
                "User-Agent": USER_AGENT,
                **extra,
                **self._authorization(method, url),
            }
            response = self.client.open(url, method=method, headers=headers, **kwargs)
            self.log.append((method, url, response.status_code))
            if response.status_code != 401 or self.username is None:
                return response
            challenges = parse_challenges(response.headers.getlist("WWW-Authenticate"))
            had_auth = "Authorization" in headers
            if "digest" in challenges:
                stale = challenges["digest"].get("stale", "").lower() == "true"
                if had_auth and self.auth_scheme == "digest" and not stale:
                    return response  # wrong password: Collect gives up and asks the user
                self.challenge, self.auth_scheme, self.nc = challenges["digest"], "digest", 0
            elif "basic" in challenges and url.startswith("https://") and not had_auth:
                self.auth_scheme = "basic"
            else:
                return response
        return response

    def get(self, path_or_url: str) -> TestResponse:
        return self.request("GET", path_or_url)

    def submit(
        self,
        xml: bytes,
        files: dict[str, bytes] | None = None,
        *,
        limit: int | None = None,
        xml_name: str = "Plot survey_2026-11-21_10-00-00.xml",
    ) -> list[TestResponse]:
        """HEAD, then the POSTs of one submission split as Collect splits it; returns every POST's answer."""
        head = self.request("HEAD", "/submission")
        if limit is None:
            advertised = head.headers.get("X-OpenRosa-Accept-Content-Length", "")
            limit = int(advertised) if head.status_code == 204 and advertised.isdigit() else 10_000_000
        names = list(files or {})
        responses, index, first = [], 0, True
        while index < len(names) or first:
            first, start, size = False, index, len(xml)
            data: dict = {"xml_submission_file": (io.BytesIO(xml), xml_name, "text/xml")}
            while index < len(names):
                name = names[index]
                content = files[name]
                data[name] = (
                    io.BytesIO(content),
                    name,
                    "image/jpeg" if name.endswith(".jpg") else "application/octet-stream",
                )
                size += len(content)
                index += 1
                if index < len(names) and (index - start > 100 or size + len(files[names[index]]) > limit):
                    data["*isIncomplete*"] = "yes"
                    break
            response = self.request("POST", "/submission", data=data, content_type="multipart/form-data")
            responses.append(response)
            if response.status_code not in (201, 202):
                break
        return responses

    def send(self, xml: bytes, files: dict[str, bytes] | None = None) -> None:
        """``submit``, requiring every POST to be accepted (201): for tests whose subject comes after."""
        responses = self.submit(xml, files)
        assert all(r.status_code == 201 for r in responses), [r.data[:500] for r in responses]
