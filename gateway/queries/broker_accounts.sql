-- Named queries of broker accounts (table: migration 0012).

-- name: upsert_account
-- Issues or replaces an account's password; a revoked account issued again is active again. The role
-- never changes (the names of the two roles cannot overlap anyway).
INSERT INTO broker_accounts (username, role, device_id, password_hash, issued_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (username) DO UPDATE
   SET password_hash = EXCLUDED.password_hash,
       issued_at = clock_timestamp(), issued_by = EXCLUDED.issued_by, revoked_at = NULL
 WHERE broker_accounts.role = EXCLUDED.role
RETURNING username, role, issued_at, issued_by;

-- name: insert_device_account_if_absent
-- For provisioners: a first password only; an active one is left alone (NULL returned).
INSERT INTO broker_accounts (username, role, device_id, password_hash, issued_by)
VALUES ($1, 'device', $1, $2, $3)
ON CONFLICT (username) DO UPDATE
   SET password_hash = EXCLUDED.password_hash, issued_at = clock_timestamp(),
       issued_by = EXCLUDED.issued_by, revoked_at = NULL
 WHERE broker_accounts.revoked_at IS NOT NULL AND broker_accounts.role = 'device'
RETURNING username, role, issued_at, issued_by;

-- name: revoke_account
UPDATE broker_accounts SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE username = $1 AND role = $2
RETURNING username, revoked_at;

-- name: active_accounts
SELECT username, role, password_hash FROM broker_accounts WHERE revoked_at IS NULL ORDER BY username;

-- name: revision
-- Moves with every change to the table (a statement trigger, in the changing transaction).
SELECT revision FROM broker_accounts_revision;


-- name: device_account
-- A device's account, active or revoked (what `ondol inject` checks before it speaks for the device).
SELECT username, role, password_hash, revoked_at FROM broker_accounts WHERE username = $1 AND role = 'device';
