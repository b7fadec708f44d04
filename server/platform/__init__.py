"""Platform: configuration, the Postgres pool and migrations, Redis Lua scripts, domain errors.

Imports nothing else of ``server``."""
