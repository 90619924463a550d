"""The database adapter: `Database` (engine, sessions, migrations), the SQLModel tables and thin
repositories. Synchronous SQLAlchemy; the async code calls it through ``asyncio.to_thread``."""

from .database import Database, DatabaseUnavailable, Migration, MigrationError
from .repositories import AuditLog, CallRepository, NoSuchUser, SessionRepository, UserRepository
from .tables import ROLES, AuditEntry, Call, User, WebSession

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "Migration",
    "MigrationError",
    "AuditLog",
    "CallRepository",
    "NoSuchUser",
    "SessionRepository",
    "UserRepository",
    "ROLES",
    "AuditEntry",
    "Call",
    "User",
    "WebSession",
]
