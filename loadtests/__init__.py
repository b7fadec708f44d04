"""Load tests: ``python -m loadtests.bench`` (``make bench``) and a locust scenario."""
