-- Tariffs for the back office: a tax rate (basis points: 550 is 5.5 %), the seat categories
-- a tariff applies to (empty: every category; a seated order naming a seat of another
-- category is refused), an eligibility note shown to buyers and cashiers, and an active
-- flag: a tariff that has tickets is never deleted, only deactivated (an inactive tariff
-- is no longer sold).
ALTER TABLE tariffs
    ADD COLUMN tax_rate_bp integer NOT NULL DEFAULT 0
        CONSTRAINT tariff_tax_rate CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    ADD COLUMN categories text[] NOT NULL DEFAULT '{}',
    ADD COLUMN note text NOT NULL DEFAULT '',
    ADD COLUMN active boolean NOT NULL DEFAULT true;

CREATE INDEX tariffs_session ON tariffs (session_id);
