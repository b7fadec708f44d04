"""The API of the organiser's websites: API keys, CORS for their origins, rate limits per
key, read-only JSON of events, sessions, tariffs and carts, and the embedded seat picker
(docs/website-api.md)."""
