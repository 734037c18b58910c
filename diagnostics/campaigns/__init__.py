"""Pre-season inspection campaigns: ranking, placement, reminders, answers."""
