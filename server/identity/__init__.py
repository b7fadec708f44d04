"""Identity: users, passwords, bearer tokens, roles and devices."""
