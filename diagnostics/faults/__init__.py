"""Faults: from a raised code to a case, a ticket and alerts; sweeps of the time-driven rules.

Owns fault_cases, predictions and diagnostic_failures (store.py). The engine's ticket statements
(store.py: a ticket opened with its case, a raise counted on both, a confirmed prediction) and the
sweeps' escalations write diagnostics/tickets' tables in the same statement as the case, and the
call-center event with them.
"""
