"""Read quality control without machine learning: per-base covariates, a BQSR-style empirical
recalibration table, streaming FASTQ recalibration and calibration metrics."""
