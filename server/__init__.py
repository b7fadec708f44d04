"""Guichet's server: one package per bounded context, wired together by ``server.app``.

See ``docs/architecture.md`` for the map of contexts and what each may import.
"""
