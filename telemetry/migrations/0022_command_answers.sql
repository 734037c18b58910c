-- Devices' answers to commands (protocol/commands.py), appended by the gateway as they arrive. The
-- commands feature (diagnostics/commands, migration 0023) applies each answer to its command with a
-- trigger on this table, in the gateway's transaction: the acknowledgement to the device's PUBACK
-- follows only once the command's state has changed too.
CREATE TABLE command_answers (
    answer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL,
    command_id uuid NOT NULL,
    stage text NOT NULL CHECK (stage IN ('ack', 'result')),
    ac int NOT NULL CHECK (ac BETWEEN 100 AND 599),
    ad text NOT NULL DEFAULT '' CHECK (length(ad) <= 500),
    av int,
    device_ts timestamptz,
    received_at timestamptz NOT NULL,
    UNIQUE (command_id, device_id, stage, ac)
);
CREATE INDEX command_answers_command ON command_answers (command_id, answer_id);
