"""Faults: from a raised code to a case, a ticket and alerts; sweeps of the time-driven rules."""
