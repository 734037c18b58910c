"""The time-series store: schema, migrations, batched writes, rollups, retention and queries."""
