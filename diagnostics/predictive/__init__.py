"""Predictive care: trend and frost detectors that open predicted tickets, and their evaluation."""
