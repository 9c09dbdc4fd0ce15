"""``khoknongna forms publish-bundled``: the bundled forms without serving (the deploy's init service)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from khoknongna.settings import Settings
from tests.server.test_cli_blobs import knn


def test_publish_bundled_publishes_the_plot_survey(settings: Settings, db: Engine):
    result = knn(settings, "forms", "publish-bundled")

    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        assert "plot_survey" in conn.execute(text("SELECT xml_form_id FROM forms")).scalars().all()


def test_publish_bundled_a_second_time_says_the_forms_are_up_to_date(settings: Settings, db: Engine):
    knn(settings, "forms", "publish-bundled")

    result = knn(settings, "forms", "publish-bundled")

    assert "is up to date" in result.output
    assert "publishing" not in result.output
