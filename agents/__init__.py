"""gamelab package."""
