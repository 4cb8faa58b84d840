"""The neural read-quality model: per-base error probability, training, export, inference."""
