"""Fixtures shared by the tests of ODK Central's API (``test_central_*.py``): the server over HTTP, the
household corpus and a pyodk client (defined with the API tests)."""

from tests.server.test_central_api import corpus, pyodk_client, server  # noqa: F401 - fixtures
