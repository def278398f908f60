"""The ride-hailing demo: a seeded data generator for the models under ``models/demo``."""
