"""The on-disk index: layout and manifest, BM25 keywords, Chroma vectors. Imports: the bottom, text, models."""
