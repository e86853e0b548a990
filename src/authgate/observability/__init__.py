"""Observability: the audit trail (``audit``); metrics and logging live beside it."""
