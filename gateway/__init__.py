"""MQTT gateway: ingests boiler telemetry, error events and status into the telemetry store."""
