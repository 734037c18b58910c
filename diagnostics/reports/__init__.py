"""Service-quality reports: the figures a call-center manager reports, each defined once in SQL
(`queries/reports.sql`) over the tickets, cases, calls and happy calls, for any period, region and
service point."""
