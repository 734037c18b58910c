"""The standard answer database: one entry per error code and per common question, read out by agents,
shown beside the device on the console and searchable in Korean; edited by staff with a role for it,
every change versioned, reviewed monthly, and flagged by agents when wrong.

Owns `answer_entries`, `answer_versions` and `answer_flags` (migration 0026).
"""
