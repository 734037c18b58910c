-- Entries per model family: a code's answer can differ between families (where the reset button or
-- the pressure gauge is, what a family's own fault means). An entry with a model family answers for
-- the devices of that family; the code's entry without one answers for every other device.
-- A model's family is the letters its name starts with (NCB-300 and NCB-500: NCB).

ALTER TABLE answer_entries
    ADD COLUMN model_family text CHECK (model_family ~ '^[A-Z]{1,10}$'),
    ADD CONSTRAINT answer_entries_family_needs_code CHECK (model_family IS NULL OR code IS NOT NULL);
CREATE INDEX answer_entries_code ON answer_entries (code, model_family) WHERE code IS NOT NULL;

CREATE FUNCTION model_family(model text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT upper(substring(model FROM '^[A-Za-z]+')) $$;
