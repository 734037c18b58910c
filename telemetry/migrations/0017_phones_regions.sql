-- One writing per phone number, one list of regions, and who registered a device.
--
-- Phone numbers: contacts were stored as written ("01011112222" and "+821011112222" were two contacts
-- of one device, and their person got every alert twice). They are now E.164, written by the API's
-- one normalising function (telemetry/phone_numbers.py); e164_phone() below is the same rule in SQL.
-- The stored numbers are rewritten, the duplicates of a device merged, and a unique index on the
-- normalised number keeps them from coming back.
--
-- Regions: free text ("서울" and "seoul" were two regions) becomes a code of the one list
-- (telemetry/regions.toml), held in the `regions` table that devices, tickets and service points
-- reference.

-- == Phone numbers =================================================================================

-- The number in E.164, or NULL when the text is not a number the rule recognises: Korean numbers
-- written nationally (010-1234-5678), with 82 or +82 (a kept trunk 0, "+82 (0)10…", dropped), and
-- numbers abroad with + and their country code. Must agree with telemetry.phone_numbers.e164_phone.
CREATE FUNCTION e164_phone(phone text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    written text := btrim(phone, E' \t\n\r\f\v');
    digits text;
    national text;
BEGIN
    IF written !~ '^\+?[0-9 ()./-]+$' THEN
        RETURN NULL;
    END IF;
    digits := regexp_replace(written, '[^0-9]', '', 'g');
    IF written LIKE '+%' AND digits NOT LIKE '82%' THEN
        RETURN CASE WHEN digits ~ '^[1-9][0-9]{7,14}$' THEN '+' || digits END;
    ELSIF written LIKE '+%' OR (digits LIKE '82%' AND length(digits) >= 11) THEN
        national := regexp_replace(substr(digits, 3), '^0', '');
    ELSIF digits ~ '^0[1-9]' THEN
        national := substr(digits, 2);
    ELSE
        RETURN NULL;
    END IF;
    IF national !~ '^[1-9][0-9]{7,9}$' OR (national LIKE '10%' AND length(national) <> 10) THEN
        RETURN NULL;
    END IF;
    RETURN '+82' || national;
END
$$;

-- The national form (migration 0006) now also reads E.164 right: "+8221234567" (a Seoul number with a
-- three-digit exchange, 10 digits in all) is 021234567, as telemetry.phone_numbers.national_phone says;
-- customer API keys and the access log name people by it. Other writings read as before.
CREATE OR REPLACE FUNCTION national_phone(phone text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN phone LIKE '+82%' OR (d LIKE '82%' AND length(d) >= 11) THEN '0' || substr(d, 3) ELSE d END
    FROM (SELECT regexp_replace(phone, '[^0-9]', '', 'g') AS d) AS digits
$$;

-- Each contact's number as it will be stored, and which contact of the device stays for it: the lowest
-- escalation rank (the one alerted first), then the oldest. A number no rule recognises stays as it
-- was (the format check below then holds for new rows only); nothing is guessed.
CREATE TEMPORARY TABLE contact_numbers ON COMMIT DROP AS
SELECT contact_id, number,
       first_value(contact_id) OVER (PARTITION BY device_id, national_phone(number)
                                     ORDER BY escalation_rank, contact_id) AS keep
FROM (SELECT contact_id, device_id, escalation_rank, coalesce(e164_phone(phone), phone) AS number
      FROM device_contacts) AS c;

-- Alerts of a merged duplicate belong to the contact that stays (an inspection reminder only where
-- that contact has none for the same wave: one reminder per inspection, contact and wave).
UPDATE customer_alerts AS a SET contact_id = n.keep
FROM contact_numbers AS n
WHERE a.contact_id = n.contact_id AND n.keep <> n.contact_id
  AND (a.inspection_id IS NULL OR a.alert_id IN (
      SELECT DISTINCT ON (b.inspection_id, m.keep, b.wave) b.alert_id
      FROM customer_alerts AS b JOIN contact_numbers AS m ON m.contact_id = b.contact_id
      WHERE b.inspection_id IS NOT NULL AND m.keep <> m.contact_id
        AND NOT EXISTS (SELECT 1 FROM customer_alerts AS c
                        WHERE c.inspection_id = b.inspection_id AND c.contact_id = m.keep AND c.wave = b.wave)
      ORDER BY b.inspection_id, m.keep, b.wave, b.alert_id));

DELETE FROM device_contacts WHERE contact_id IN (SELECT contact_id FROM contact_numbers WHERE keep <> contact_id);

-- Every row is written, so phone_national is computed again with the national_phone() above.
UPDATE device_contacts AS dc SET phone = n.number FROM contact_numbers AS n WHERE n.contact_id = dc.contact_id;

-- Alerts and the sink's record carry the number they went to: the same number, now in one writing
-- (erased ones stay 'erased').
UPDATE customer_alerts SET phone = e164_phone(phone) WHERE e164_phone(phone) <> phone;
UPDATE alert_sink_messages SET recipient = e164_phone(recipient) WHERE e164_phone(recipient) <> recipient;

-- New numbers only in E.164: +82 and a national number without its 0, or + and a number abroad.
ALTER TABLE device_contacts
    DROP CONSTRAINT device_contacts_phone_check,
    ADD CONSTRAINT device_contacts_phone_e164
        CHECK (phone ~ '^\+(82[1-9][0-9]{7,9}|[1-79][0-9]{7,14}|8[013-9][0-9]{6,13})$') NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM device_contacts WHERE e164_phone(phone) IS DISTINCT FROM phone) THEN
        ALTER TABLE device_contacts VALIDATE CONSTRAINT device_contacts_phone_e164;
    END IF;
END
$$;

-- One contact per device and number, however the number was written.
CREATE UNIQUE INDEX device_contacts_device_phone_national ON device_contacts (device_id, phone_national);

-- == Regions =======================================================================================

CREATE TABLE regions (
    code text PRIMARY KEY CHECK (code ~ '^[a-z]{2,32}$'),
    name_ko text NOT NULL UNIQUE,
    name_en text NOT NULL UNIQUE
);
INSERT INTO regions (code, name_ko, name_en) VALUES
    ('seoul', '서울', 'Seoul'), ('busan', '부산', 'Busan'), ('daegu', '대구', 'Daegu'),
    ('incheon', '인천', 'Incheon'), ('gwangju', '광주', 'Gwangju'), ('daejeon', '대전', 'Daejeon'),
    ('ulsan', '울산', 'Ulsan'), ('sejong', '세종', 'Sejong'), ('gyeonggi', '경기', 'Gyeonggi'),
    ('gangwon', '강원', 'Gangwon'), ('chungbuk', '충북', 'Chungbuk'), ('chungnam', '충남', 'Chungnam'),
    ('jeonbuk', '전북', 'Jeonbuk'), ('jeonnam', '전남', 'Jeonnam'), ('gyeongbuk', '경북', 'Gyeongbuk'),
    ('gyeongnam', '경남', 'Gyeongnam'), ('jeju', '제주', 'Jeju');

-- Free text as telemetry.regions compares names: any case, without spaces, dots, dashes, underscores.
CREATE FUNCTION pg_temp.region_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT lower(translate(name, E' \t\n\r\f\v._-', '')) $$;

-- Every name regions.toml accepts, as of this migration.
CREATE TEMPORARY TABLE region_names ON COMMIT DROP AS
SELECT DISTINCT pg_temp.region_key(name) AS key, code
FROM regions, LATERAL unnest(ARRAY[code, name_ko, name_en]) AS name
UNION
SELECT pg_temp.region_key(name), code FROM (VALUES
    ('seoul', '서울특별시'), ('seoul', '서울시'), ('busan', '부산광역시'), ('busan', '부산시'), ('busan', 'Pusan'),
    ('daegu', '대구광역시'), ('daegu', '대구시'), ('incheon', '인천광역시'), ('incheon', '인천시'),
    ('gwangju', '광주광역시'), ('daejeon', '대전광역시'), ('daejeon', '대전시'), ('ulsan', '울산광역시'),
    ('ulsan', '울산시'), ('sejong', '세종특별자치시'), ('sejong', '세종시'), ('gyeonggi', '경기도'),
    ('gyeonggi', 'Gyeonggi-do'), ('gangwon', '강원도'), ('gangwon', '강원특별자치도'), ('gangwon', 'Gangwon-do'),
    ('chungbuk', '충청북도'), ('chungbuk', 'Chungcheongbuk-do'), ('chungbuk', 'North Chungcheong'),
    ('chungnam', '충청남도'), ('chungnam', 'Chungcheongnam-do'), ('chungnam', 'South Chungcheong'),
    ('jeonbuk', '전라북도'), ('jeonbuk', '전북특별자치도'), ('jeonbuk', 'Jeollabuk-do'), ('jeonbuk', 'North Jeolla'),
    ('jeonnam', '전라남도'), ('jeonnam', 'Jeollanam-do'), ('jeonnam', 'South Jeolla'),
    ('gyeongbuk', '경상북도'), ('gyeongbuk', 'Gyeongsangbuk-do'), ('gyeongbuk', 'North Gyeongsang'),
    ('gyeongnam', '경상남도'), ('gyeongnam', 'Gyeongsangnam-do'), ('gyeongnam', 'South Gyeongsang'),
    ('jeju', '제주특별자치도'), ('jeju', '제주도'), ('jeju', 'Jeju-do')
) AS also (code, name);

-- A stored region that names no region of the list becomes NULL: the device is then routed by its
-- coordinates alone (nearest covering service point), and a device without coordinates gets no
-- service point until its region is set again; a service point without a region still takes tickets
-- by distance. What was cleared is kept here, so it can be put right by hand.
CREATE TABLE regions_unmatched_0017 (
    source text NOT NULL,
    id text NOT NULL,
    region text NOT NULL,
    PRIMARY KEY (source, id)
);
INSERT INTO regions_unmatched_0017 (source, id, region)
SELECT 'devices', device_id, region FROM devices
WHERE region IS NOT NULL AND pg_temp.region_key(region) NOT IN (SELECT key FROM region_names)
UNION ALL
SELECT 'service_points', point_id, region FROM service_points
WHERE pg_temp.region_key(region) NOT IN (SELECT key FROM region_names)
UNION ALL
SELECT 'tickets', ticket_id::text, region FROM tickets
WHERE region IS NOT NULL AND pg_temp.region_key(region) NOT IN (SELECT key FROM region_names);

UPDATE devices AS d SET region = (SELECT code FROM region_names WHERE key = pg_temp.region_key(d.region))
WHERE region IS NOT NULL AND region NOT IN (SELECT code FROM regions);
UPDATE tickets AS t SET region = (SELECT code FROM region_names WHERE key = pg_temp.region_key(t.region))
WHERE region IS NOT NULL AND region NOT IN (SELECT code FROM regions);
ALTER TABLE service_points ALTER COLUMN region DROP NOT NULL;
UPDATE service_points AS p SET region = (SELECT code FROM region_names WHERE key = pg_temp.region_key(p.region))
WHERE region NOT IN (SELECT code FROM regions);

ALTER TABLE devices ADD CONSTRAINT devices_region_fkey FOREIGN KEY (region) REFERENCES regions;
ALTER TABLE tickets ADD CONSTRAINT tickets_region_fkey FOREIGN KEY (region) REFERENCES regions;
ALTER TABLE service_points ADD CONSTRAINT service_points_region_fkey FOREIGN KEY (region) REFERENCES regions;
DROP FUNCTION pg_temp.region_key(text);

-- == Who registered a device ========================================================================

-- The API key that first registered the device (NULL: before this migration, or not through the API).
-- An installer's key may read the status of the devices it registered, to see a new boiler come online.
ALTER TABLE devices ADD COLUMN registered_by text;
CREATE INDEX devices_registered_by ON devices (registered_by) WHERE registered_by IS NOT NULL;
