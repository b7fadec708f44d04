"""Door control: ticket codes and keys, scans and passages, offline batches, counters, passes,
releases of unscanned reservations, and the door feed."""
