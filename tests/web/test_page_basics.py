"""What every page shares: dates in the Buddhist era with the ISO value as a tooltip, the site's icon and its web
app manifest (so a supervisor can add it to a phone's home screen)."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient


def test_pages_show_dates_in_the_buddhist_era_with_the_iso_value_as_tooltip(signed_in) -> None:
    client = signed_in("root", "admin")

    page = client.get("/admin/users").get_data(as_text=True)

    found = re.search(
        r'<time datetime="(\d{4})-\d\d-\d\dT[^"]+" title="[^"]+">\d{1,2} (\S+) (\d{4}) \d\d:\d\d</time>', page
    )
    assert found, "a creation date in the list of users"
    assert int(found[3]) == int(found[1]) + 543
    assert found[2].endswith(".")  # an abbreviated Thai month, e.g. ธ.ค.


def test_every_page_names_its_icon_and_web_app_manifest(client: FlaskClient) -> None:
    page = client.get("/signin").get_data(as_text=True)
    manifest = client.get("/static/manifest.webmanifest")

    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in page
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert manifest.content_type == "application/manifest+json"
    icons = json.loads(manifest.get_data(as_text=True))["icons"]
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in icons}
    assert all(client.get(icon["src"]).status_code == 200 for icon in icons)
