-- name: upsert_point
INSERT INTO service_points (point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (point_id) DO UPDATE SET
    name = EXCLUDED.name, city = EXCLUDED.city, region = EXCLUDED.region, latitude = EXCLUDED.latitude,
    longitude = EXCLUDED.longitude, coverage_km = EXCLUDED.coverage_km, daily_capacity = EXCLUDED.daily_capacity;

-- name: all_points
SELECT point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity
FROM service_points ORDER BY point_id;

-- name: any_point
SELECT EXISTS (SELECT 1 FROM service_points);
