"""Framework integrations: Starlette (pure ASGI middleware) and FastAPI (dependencies)."""
