"""The HTTP edge: request parsing and the mapping of domain errors to HTTP responses."""
