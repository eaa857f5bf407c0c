"""gamelab's shared network and optimizer core.

Device choice and precision, seeding, network building blocks, optimizers and schedules, EMA, atomic checkpoints,
a JSONL metrics log with plots, progress bars, config parsing and run directories. Used by both halves of the lab:
the board-game agents and the generative models. Imports nothing from the other packages.
"""
