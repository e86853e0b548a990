"""The gateway (``authgate serve``): reverse proxy and forward auth in front of any HTTP API.

``app.create_app`` assembles the ASGI app from ``GatewayComponents``; ``builder`` builds those
from settings; ``server`` runs it under uvicorn with graceful drain and SIGHUP policy reload.
"""

from authgate.gateway.app import GatewayComponents, create_app
from authgate.gateway.settings import GatewaySettings, load_gateway_settings

__all__ = ["GatewayComponents", "GatewaySettings", "create_app", "load_gateway_settings"]
