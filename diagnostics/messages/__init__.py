"""What customers are told: alert texts per language, quiet hours, and the alerts themselves."""
