"""Guichet's server: ASGI app, HTTP API, WebSocket hub, auth and the Redis/Postgres adapters."""
