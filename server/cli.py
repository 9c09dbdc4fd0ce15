"""The ``khoknongna`` command: serve, users and app users, forms, database, blob store.

Every command takes ``--data-dir`` (environment ``KNN_DATA_DIR``, default ``./var``). Without
``KNN_DATABASE_URL`` the commands work on the private PostGIS cluster of that folder, starting it if
needed and stopping it afterwards unless another command (such as ``serve``) still uses it.
The commands live in ``server/commands/``, one module per group; this module only puts them together.
"""

from __future__ import annotations

import logging

import click

from khoknongna.server.commands import blobs, checks, forms, gis, reports, run, users


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Show what the server does in more detail.")
def main(verbose: bool) -> None:
    """Khok Nong Na field data server: an ODK-compatible server on PostGIS."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for command in (
    run.serve,
    run.worker,
    users.user,
    users.appuser,
    forms.forms,
    blobs.blobs,
    checks.jobs_group,
    checks.check,
    checks.audit_group,
    reports.export_form,
    reports.report,
    gis.gis,
    gis.db,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
