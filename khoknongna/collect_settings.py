"""The settings payload that configures ODK Collect from a QR code.

The payload is base64(zlib-deflate(UTF-8 JSON)); the JSON needs ``general`` and ``admin`` objects and may
name the ``project``. Source: ODK docs "Collect import/export", Collect's client-settings.schema.json.
"""

from __future__ import annotations

import base64
import json
import zlib


def collect_settings(server_url: str, project_name: str, *, username: str | None = None) -> dict:
    """Collect settings pointing at ``server_url`` (forms kept in step with the server, sent automatically)."""
    general: dict[str, str] = {
        "server_url": server_url,
        "form_update_mode": "match_exactly",
        "autosend": "wifi_and_cellular",
    }
    if username:
        general["username"] = username
    return {"general": general, "admin": {}, "project": {"name": project_name, "icon": "🌾", "color": "#2e7d32"}}


def encode_settings(settings: dict) -> str:
    """The QR code text for ``settings``: base64 of the zlib-compressed JSON."""
    return base64.b64encode(zlib.compress(json.dumps(settings, ensure_ascii=False).encode("utf-8"))).decode()
