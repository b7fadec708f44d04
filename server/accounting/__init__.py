"""The organiser's money statements: sales, register sessions and the accounting summary,
read from the journal, the e-shop's orders and the wallet ledger (docs/accounting.md)."""
