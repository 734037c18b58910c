-- name: upsert_point
INSERT INTO service_points (point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity, name_en)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (point_id) DO UPDATE SET
    name = EXCLUDED.name, city = EXCLUDED.city, region = EXCLUDED.region, latitude = EXCLUDED.latitude,
    longitude = EXCLUDED.longitude, coverage_km = EXCLUDED.coverage_km, daily_capacity = EXCLUDED.daily_capacity,
    name_en = EXCLUDED.name_en;

-- name: all_points
SELECT point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity, name_en
FROM service_points ORDER BY point_id;

-- name: fill_english_names
-- English names for points that have none, only where the point is the one named ($1 ids, $2 the
-- Korean names they must still have, $3 the English names): a point renamed since is left alone.
UPDATE service_points AS sp SET name_en = x.name_en
FROM unnest($1::text[], $2::text[], $3::text[]) AS x(point_id, name, name_en)
WHERE sp.point_id = x.point_id AND sp.name = x.name AND sp.name_en IS NULL;

-- name: any_point
SELECT EXISTS (SELECT 1 FROM service_points);
