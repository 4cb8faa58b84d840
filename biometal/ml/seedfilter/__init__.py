"""The CNN seed-viability filter: labelled seed windows, training, export, inference, cost."""
