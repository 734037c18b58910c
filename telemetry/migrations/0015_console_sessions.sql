-- Sign-ins to the agent console. An agent signs in once with their API key; the browser then holds
-- only a random session token (its SHA-256 is kept here), so the long-lived key never sits in a
-- cookie. A session dies with its key (revoking the key ends every session at once), when it
-- expires, or when the agent signs out.
CREATE TABLE console_sessions (
    session_sha256 bytea PRIMARY KEY CHECK (length(session_sha256) = 32),
    key_id text NOT NULL REFERENCES api_keys ON DELETE CASCADE,
    -- Sent back by the page in a header on every change it asks for; a page of another site can
    -- neither read it nor set that header, so it cannot act with the agent's cookie.
    csrf_token text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_key ON console_sessions (key_id);

