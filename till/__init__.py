"""The cash desk's pure core: money arithmetic and the journal's hash chain (no I/O)."""
