"""Online payment of shop orders, the buyer's order page and its confirmation e-mail."""
