"""The wire contract between boilers and Ondol: topics, payloads, the broker address, how both ends retry. Imports nothing of ours."""
