"""Fixtures shared by the tests of ODK Central's API (``test_central_*.py``): the household corpus and a pyodk
client (defined with the API tests); the server over HTTP is ``live_server`` of ``tests/conftest.py``."""

from tests.server.test_central_api import corpus, pyodk_client  # noqa: F401 - fixtures
