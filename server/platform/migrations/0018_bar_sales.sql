-- Bar sales per minute and per bar, for the organiser's live dashboard: kept by a trigger
-- on the ledger (a debit adds, the reversal of one subtracts), in the transaction of the
-- movement itself, so the figures are exactly the ledger's. A bar's debits already queue
-- on its account row; the minute's row adds no new contention.
CREATE TABLE bar_sales_minutes (
    point_of_sale_id bigint NOT NULL REFERENCES points_of_sale(id),
    minute           timestamptz NOT NULL,
    currency         text NOT NULL,
    debits           integer NOT NULL DEFAULT 0,
    amount_cents     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (point_of_sale_id, minute, currency)
);
CREATE INDEX bar_sales_minutes_recent ON bar_sales_minutes (minute);

CREATE FUNCTION bar_sales_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign integer;
BEGIN
    IF NEW.point_of_sale_id IS NULL OR NEW.kind NOT IN ('debit', 'reversal') THEN
        RETURN NULL;
    END IF;
    IF NEW.kind = 'reversal' THEN
        IF NOT EXISTS (SELECT 1 FROM ledger_transactions
                       WHERE id = NEW.reverses_id AND kind = 'debit') THEN
            RETURN NULL;
        END IF;
        sign := -1;
    ELSE
        sign := 1;
    END IF;
    INSERT INTO bar_sales_minutes AS b (point_of_sale_id, minute, currency, debits, amount_cents)
    VALUES (NEW.point_of_sale_id, date_trunc('minute', NEW.taken_at), NEW.currency, sign,
            sign * NEW.amount_cents)
    ON CONFLICT (point_of_sale_id, minute, currency) DO UPDATE
    SET debits = b.debits + excluded.debits, amount_cents = b.amount_cents + excluded.amount_cents;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_bar_sales AFTER INSERT ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION bar_sales_count();
