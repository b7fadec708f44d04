"""The cashless wallet: ledger, top-ups, bar debits, offline allowances (docs/wallet.md)."""
