"""Measurement: outcome records, lift against the holdout, and honest verdicts."""
