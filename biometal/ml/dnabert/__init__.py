"""DNABERT case study: a small BERT-style encoder (torch), MLM training on streamed reads
(standard vs quality-aware tokenization), evaluation on held-out high-quality reads, figures."""
