"""Reading the test database in one call: the rows, the one row or the first value a SQL statement gives.

Each call opens and closes its own connection, so what it returns is what any other connection would see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Row, text


def rows(db: Engine, sql: str, **params: Any) -> list[Row[Any]]:
    """Every row of ``sql`` (``:name`` placeholders filled from ``params``)."""
    with db.connect() as conn:
        return list(conn.execute(text(sql), params))


def one(db: Engine, sql: str, **params: Any) -> Row[Any]:
    """The single row of ``sql``; raises ``sqlalchemy.exc.NoResultFound``/``MultipleResultsFound`` otherwise."""
    with db.connect() as conn:
        return conn.execute(text(sql), params).one()


def scalar(db: Engine, sql: str, **params: Any) -> Any:
    """The first column of the first row of ``sql``, ``None`` when it has no rows."""
    with db.connect() as conn:
        return conn.execute(text(sql), params).scalar()
