"""Admin HTTP API (Starlette routes), one module per resource: ``tokens``."""
