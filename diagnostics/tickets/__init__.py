"""A/S tickets: the lifecycle and reading tickets for agents.

Owns tickets, ticket_transitions, ticket_notes and ticket_escalations. Agents' moves go through
lifecycle.py; the fault engine opens, updates and escalates tickets with statements of its own that
change the case in the same statement (see diagnostics/faults). A ticket that ends closes its case
through diagnostics/faults' store.
"""
