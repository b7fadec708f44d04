-- A rotated key signs only from activates_at on; until then it is on standby (verifies
-- only), long enough for every process to have reloaded the ring and learnt it.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz NOT NULL DEFAULT now();
