-- Broker accounts: who may connect to the MQTT broker, and as what.
--
-- Every device has its own password (never a shared default); its username is its device id, and
-- the broker's ACL lets it publish and subscribe only under `ondol/v1/{its id}/`. Gateways have
-- accounts of their own that may read the whole tree. The broker reads these rows through the
-- password and ACL files `ondol broker-auth` renders from them.
--
-- Passwords are stored as Mosquitto verifies them: PBKDF2-SHA512 in its `$7$` format. The password
-- itself exists only in the value returned when it is issued (or, for a simulated fleet, derived
-- from the fleet's secret by the simulator).
CREATE TABLE broker_accounts (
    username text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_-]{1,64}$'),
    role text NOT NULL CHECK (role IN ('device', 'gateway')),
    device_id text REFERENCES devices ON DELETE CASCADE,
    password_hash text NOT NULL CHECK (password_hash ~ '^\$7\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$'),
    issued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    issued_by text NOT NULL,
    revoked_at timestamptz,
    CHECK ((role = 'device') = (device_id IS NOT NULL)),
    CHECK (role <> 'device' OR device_id = username)
);

-- What the renderer polls to know whether the broker's files are stale.
CREATE SEQUENCE broker_accounts_revision;

CREATE FUNCTION broker_accounts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('broker_accounts_revision');
    RETURN NULL;
END $$;

CREATE TRIGGER broker_accounts_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON broker_accounts
FOR EACH STATEMENT EXECUTE FUNCTION broker_accounts_touch();
