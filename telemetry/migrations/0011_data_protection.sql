-- Who viewed or changed a customer's record, and a customer's data exported or erased on request.
--
-- The log names no person: `customer_ref` is the SHA-256 of the customer's national phone number,
-- enough to answer "who looked at this customer" without keeping the number. No foreign keys: the
-- log outlives the devices and contacts it speaks of.
CREATE TABLE record_access_log (
    access_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    key_id text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL CHECK (action IN ('view', 'change', 'export', 'erase')),
    subject text NOT NULL,
    device_id text,
    customer_ref text
);
CREATE INDEX record_access_log_device ON record_access_log (device_id, access_id DESC);
CREATE INDEX record_access_log_customer ON record_access_log (customer_ref, access_id DESC);
