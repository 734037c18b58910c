-- The standard answer database: one entry per error code and per common question, each with the short
-- answer an agent reads out, the customer's text, self-fix steps and when to dispatch, in Korean and
-- English; every change versioned with who and why; a monthly review date; agents' flags.

CREATE TABLE answer_entries (
    entry_id text PRIMARY KEY CHECK (entry_id ~ '^[a-z0-9-]{2,80}$'),
    kind text NOT NULL CHECK (kind IN ('code', 'question', 'billing', 'warranty')),
    code text,
    owner text NOT NULL CHECK (length(owner) BETWEEN 1 AND 60),
    body jsonb NOT NULL,
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by text NOT NULL,
    reviewed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    review_due date NOT NULL
);
CREATE INDEX answer_entries_due ON answer_entries (review_due);

-- Every version of every entry, the first included (append-only: the trigger refuses changes).
CREATE TABLE answer_versions (
    entry_id text NOT NULL REFERENCES answer_entries ON DELETE CASCADE,
    version integer NOT NULL,
    body jsonb NOT NULL,
    changed_by text NOT NULL,
    why text NOT NULL CHECK (length(why) BETWEEN 1 AND 500),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (entry_id, version)
);

CREATE FUNCTION answer_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'answer_versions is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER answer_versions_append_only BEFORE UPDATE ON answer_versions
    FOR EACH ROW EXECUTE FUNCTION answer_versions_append_only();

-- An agent says an entry is wrong; the flag lands with the entry's owner until resolved.
CREATE TABLE answer_flags (
    flag_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id text NOT NULL REFERENCES answer_entries ON DELETE CASCADE,
    flagged_by text NOT NULL,
    note text NOT NULL CHECK (length(note) BETWEEN 1 AND 1000),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_at timestamptz,
    resolved_by text,
    resolution text
);
CREATE INDEX answer_flags_open ON answer_flags (entry_id) WHERE resolved_at IS NULL;

-- The role that edits answers (the departments' writers): API keys may carry it.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check,
    ADD CONSTRAINT api_keys_role_check
        CHECK (role IN ('admin', 'agent', 'technician', 'customer', 'device-provisioner', 'answer-editor'));
