"""Takes queued commands to the boilers over MQTT (dispatch.py). The commands themselves, and the
rules for sending one, are diagnostics/commands'."""
