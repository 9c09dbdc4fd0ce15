"""Fixtures of the GIS tests: the real form pack published, plots registered with the plot survey, follow-ups."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from khoknongna.publishing import publish_bundled_forms
from khoknongna.settings import Settings
from tests.collect import CollectClient
from tests.plots import plot_xml


@pytest.fixture
def form_pack(app: Flask, settings: Settings) -> None:
    """The six forms of the Khok Nong Na pack, published (their views created)."""
    services = app.extensions["knn"]
    publish_bundled_forms(services.engine, services.blobs, settings)


def survey(collect: CollectClient, plot: str | None = None, **kwargs) -> str:
    """Register a plot with the real plot survey; returns its UUID."""
    plot = plot or str(uuid.uuid4())
    (response,) = collect.submit(plot_xml(f"uuid:{uuid.uuid4()}", plot_id=plot, overview="", **kwargs))
    assert response.status_code == 201, response.data
    return plot
