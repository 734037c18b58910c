-- Finding a device from what a caller tells the agent: a phone number, a name, part of an address.
-- The agent has the caller's number, not the device id.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A Korean phone number as the digits of its national form, however it was written:
-- "+82 10-1234-5678", "010-1234-5678" and "01012345678" are all 01012345678.
CREATE FUNCTION national_phone(phone text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN d LIKE '82%' AND length(d) >= 11 THEN '0' || substr(d, 3) ELSE d END
    FROM (SELECT regexp_replace(phone, '[^0-9]', '', 'g') AS d) AS digits
$$;

ALTER TABLE device_contacts ADD COLUMN phone_national text GENERATED ALWAYS AS (national_phone(phone)) STORED;
CREATE INDEX device_contacts_phone_national ON device_contacts (phone_national);

-- Substring search ("김영", "역삼동 12") on names and addresses, Hangul included.
CREATE INDEX devices_customer_name_trgm ON devices USING gin (customer_name gin_trgm_ops);
CREATE INDEX devices_address_trgm ON devices USING gin (address gin_trgm_ops);
CREATE INDEX device_contacts_name_trgm ON device_contacts USING gin (name gin_trgm_ops);
