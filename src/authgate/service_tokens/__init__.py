"""Service tokens: long-lived, scoped, rotatable, revocable credentials stored as hashes.

Modules: ``format`` (wire format + checksum), ``models`` + ``migrations`` (schema),
``store`` (SQLAlchemy 2: SQLite or PostgreSQL), ``rotation`` (overlap window), ``revocation``
(fan-out), ``usage`` (batched last-used), ``admin`` (audited operations for the CLI and the
HTTP API), ``settings`` (``AUTHGATE_*``). Import from the submodules: this package stays
import-light so that ``observability.audit`` can share the schema without a cycle.
"""
