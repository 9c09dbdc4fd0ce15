"""The groups of the ``khoknongna`` command, one module each; ``server/cli.py`` puts them together."""
