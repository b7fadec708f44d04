"""Signed ticket codes: the pure, offline-verifiable core used by door scanners."""
