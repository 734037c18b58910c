-- Broker accounts: who may connect to the MQTT broker, and as what.
--
-- Every device has its own password (never a shared default); its username is its device id, and
-- the broker's ACL lets it publish and subscribe only under `ondol/v1/{its id}/`. Gateways have
-- accounts of their own that may read the whole tree; their names start with `gw.`, which no device
-- id can (ids have no dot), so no device account can ever become or be mistaken for a gateway one. The broker reads these rows through the
-- password and ACL files `ondol broker-auth` renders from them.
--
-- Passwords are stored as Mosquitto verifies them: PBKDF2-SHA512 in its `$7$` format. The password
-- itself exists only in the value returned when it is issued (or, for a simulated fleet, derived
-- from the fleet's secret by the simulator).
CREATE TABLE broker_accounts (
    username text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('device', 'gateway')),
    device_id text REFERENCES devices ON DELETE CASCADE,
    password_hash text NOT NULL CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$'),
    issued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    issued_by text NOT NULL,
    revoked_at timestamptz,
    CHECK ((role = 'device') = (device_id IS NOT NULL)),
    CHECK (role <> 'device' OR (device_id = username AND username ~ '^[A-Za-z0-9_-]{1,64}$')),
    CHECK (role <> 'gateway' OR username ~ '^gw\.[A-Za-z0-9_-]{1,61}$')
);

-- What the renderer polls to know whether the broker's files are stale. A row, not a sequence: the
-- trigger's update is part of the changing transaction, so a renderer that reads the revision and
-- the accounts in one snapshot never records a revision whose change it did not see.
CREATE TABLE broker_accounts_revision (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    revision bigint NOT NULL
);
INSERT INTO broker_accounts_revision (revision) VALUES (0);

CREATE FUNCTION broker_accounts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE broker_accounts_revision SET revision = revision + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER broker_accounts_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON broker_accounts
FOR EACH STATEMENT EXECUTE FUNCTION broker_accounts_touch();
