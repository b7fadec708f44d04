"""The cash desk: registers, register sessions, the journal of every money movement."""
