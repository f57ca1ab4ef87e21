"""The health check's probe of the database: does the user table answer."""

from __future__ import annotations

from agents_meetings.tables import UserModel


def check_user_table() -> None:
    """Raises whatever the table's description raises when the database does not answer."""
    UserModel.describe_table()
