-- The fleet at a glance for supervisors: device status (the device_status view's rule) by region
-- and by model, and the unfinished tickets of each region.

-- name: status_by_region
SELECT coalesce(region, '') AS key, count(*) AS devices,
       count(*) FILTER (WHERE status = 'online') AS online,
       count(*) FILTER (WHERE status = 'offline') AS offline,
       count(*) FILTER (WHERE status = 'fault') AS faulted
FROM device_status
GROUP BY 1 ORDER BY 1;

-- name: status_by_model
SELECT model AS key, count(*) AS devices,
       count(*) FILTER (WHERE status = 'online') AS online,
       count(*) FILTER (WHERE status = 'offline') AS offline,
       count(*) FILTER (WHERE status = 'fault') AS faulted
FROM device_status
GROUP BY 1 ORDER BY 1;

-- name: open_tickets_by_region
SELECT coalesce(region, '') AS region, count(*) AS open,
       count(*) FILTER (WHERE priority <= 2) AS urgent
FROM tickets
WHERE status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
GROUP BY 1;

-- name: outdoor_by_region
-- Mean outdoor temperature the boilers of each region reported since $1 (hourly rollup): where it is coldest.
SELECT coalesce(d.region, '') AS region, sum(h.outdoor_c_sum) / nullif(sum(h.outdoor_c_cnt), 0) AS outdoor_c
FROM readings_hourly AS h
JOIN devices AS d ON d.device_id = h.device_id
WHERE h.bucket >= $1
GROUP BY 1;
