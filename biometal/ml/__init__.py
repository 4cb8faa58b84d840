"""Machine learning on reads: k-mer tokenizers and streaming DNABERT datasets (case study 3),
the SMEM seed-viability filter with ONNX / Core ML export and inference backends (seedfilter/)."""

# DNABERT (case study 3): exported lazily, so that importing biometal.ml.seedfilter does not
# load torch and numba through the dataset and the tokenizer.
_DNABERT_EXPORTS = {
    "DnaBertDataset": "biometal.ml.dataset",
    "KmerTokenizer": "biometal.ml.tokenizer",
}


def __getattr__(name: str):
    if name in _DNABERT_EXPORTS:
        import importlib

        return getattr(importlib.import_module(_DNABERT_EXPORTS[name]), name)
    raise AttributeError(f"module 'biometal.ml' has no attribute {name!r}")
