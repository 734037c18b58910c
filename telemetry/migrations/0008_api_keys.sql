-- API keys: who may call the API, in which role, and over which objects.
--
-- A key is shown once, at creation, as `ondol_<key_id>_<secret>`; only the SHA-256 of its 32-byte
-- random secret is stored. A fast hash is the right one here: the secret is random, not a password,
-- so there is nothing to guess with a dictionary, and every request verifies it.
CREATE TABLE api_keys (
    key_id text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role text NOT NULL CHECK (role IN ('admin', 'agent', 'technician', 'customer', 'device-provisioner')),
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    -- A technician sees the tickets (and their devices) of one service point.
    service_point_id text REFERENCES service_points,
    -- A customer sees the devices on which this phone number is a contact, and their tickets.
    customer_phone text CHECK (customer_phone ~ '^0[0-9]{8,10}$'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by text NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    CHECK ((role = 'technician') = (service_point_id IS NOT NULL)),
    CHECK ((role = 'customer') = (customer_phone IS NOT NULL))
);
