"""Machine learning on reads: k-mer tokenizers and streaming DNABERT datasets (case study 3),
the SMEM seed-viability filter with ONNX / Core ML export and inference backends (seedfilter/)."""
