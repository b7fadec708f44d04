"""The e-shop's cart: several sessions, passes and articles in one order (docs/shop.md)."""
