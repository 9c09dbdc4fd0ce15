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


main.add_command(run.serve)
main.add_command(run.worker)
main.add_command(users.user)
main.add_command(users.appuser)
main.add_command(forms.forms)
main.add_command(blobs.blobs)
main.add_command(checks.jobs_group)
main.add_command(checks.check)
main.add_command(checks.audit_group)
main.add_command(reports.export_form)
main.add_command(reports.report)
main.add_command(gis.gis)
main.add_command(gis.db)


if __name__ == "__main__":
    main()
