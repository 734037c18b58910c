"""Commands to boilers: lockout reset, setpoints, mode, water filling, a diagnostics snapshot.

Owns commands, command_transitions (append-only; written by the `command_changed` trigger),
remote_consents and device_desired_state (migration 0023). policy.py decides whether a command may
be sent (catalog safety rules, consent, roles, rate limit, desired-state version); service.py records
the decision; outbox/commands takes queued commands to the boiler; the gateway stores the boiler's
answers in command_answers, which `apply_command_answer` applies to the command.
"""
