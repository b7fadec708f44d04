-- A desk sale paid from a wallet (docs/wallet.md, "Paying at the desk"): the wallet's money
-- goes to the `desk` account of the register's point of sale (one per point of sale and
-- currency, as a bar's), by a `sale` transaction in the transaction of the sale's journal
-- entry; a refund of such a sale credits the wallet back by a `refund` transaction.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN ('wallet',
    'cash', 'card', 'bar', 'desk', 'payout', 'donation', 'breakage', 'correction'));
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_point_of_sale_check
    CHECK ((kind IN ('bar', 'desk')) = (point_of_sale_id IS NOT NULL));

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN
    ('topup', 'debit', 'sale', 'refund', 'reversal', 'payout', 'donation', 'breakage',
     'correction'));
-- The wallet payments of a journal entry (a desk sale's, a refund's).
CREATE INDEX ledger_transactions_journal ON ledger_transactions (journal_id)
    WHERE journal_id IS NOT NULL;
