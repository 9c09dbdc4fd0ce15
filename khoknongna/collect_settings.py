"""The settings payload that configures ODK Collect from a QR code, and the QR code itself.

The payload is base64(zlib-deflate(UTF-8 JSON)); the JSON needs ``general`` and ``admin`` objects and may
name the ``project``. Source: ODK docs "Collect import/export", Collect's client-settings.schema.json.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import segno


def collect_settings(server_url: str, project_name: str, *, app_user: bool = False) -> dict:
    """Collect settings for a field phone pointing at ``server_url``.

    Thai interface; forms kept exactly in step with the server; finished forms sent automatically on Wi-Fi
    (photos are large and field SIM plans small) and never deleted from the phone after sending. An app
    user's phone also cannot change its server address or turn deletion after sending on, since its URL
    holds the credential.
    """
    general = {
        "server_url": server_url,
        "form_update_mode": "match_exactly",
        "app_language": "th",
        "autosend": "wifi_only",
        "delete_send": False,
    }
    admin = {"change_server": False, "delete_after_send": False} if app_user else {}
    return {"general": general, "admin": admin, "project": {"name": project_name, "icon": "🌾", "color": "#2e7d32"}}


def encode_settings(settings: dict) -> str:
    """The QR code text for ``settings``: base64 of the zlib-compressed JSON."""
    return base64.b64encode(zlib.compress(json.dumps(settings, ensure_ascii=False).encode("utf-8"))).decode()


def settings_qr(settings: dict) -> segno.QRCode:
    """The QR code of ``settings``, for a terminal (``.terminal()``) or a PNG file (:func:`save_png`)."""
    return segno.make(encode_settings(settings), error="l", micro=False)


def link_qr(url: str) -> segno.QRCode:
    """The QR code of a plain link (``https://…``), which a phone's camera app opens in the browser."""
    return segno.make(url, error="m", micro=False)


def save_png(qr: segno.QRCode, path: Path) -> None:
    """Write the QR code as a PNG large enough to scan from a printed page or a screen."""
    qr.save(str(path), kind="png", scale=8, border=4)
