-- Guichet schema, version 3: enrolment of scanner devices. An admin creates a device and
-- gets a one-time enrolment code (valid 15 minutes, shown as a QR code); the scanner page
-- trades it once for a device token with the entry_check role.

ALTER TABLE devices
    ADD COLUMN enrolment_code       text UNIQUE,
    ADD COLUMN enrolment_expires_at timestamptz,
    ADD COLUMN enrolment_used_at    timestamptz;
