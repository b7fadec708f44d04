"""Sales: orders that turn holds into tickets."""
