"""The customer's side of a case: a link in every alert to a small page where the customer answers
(it works again, still not working), consents to and asks for a remote reset, books or moves the
visit, sees who is coming and what the repair cost, and answers the happy call.

Owns `customer_links`, `customer_answers`, `technicians`, `visit_bookings`, `repair_reports` and
`customer_surveys` (migration 0024). The migration also adds `fault_cases.customer_said_fixed_at`,
which the fault store writes (diagnostics/faults owns its table); visits are assigned to technicians
through the ticket lifecycle.
"""
