"""A simulated fleet of boilers and room thermostats speaking the wire contract over MQTT."""
