"""Articles in: loading, HTML text, cleaning, chunking, indexer, uploads. Imports: the bottom, text, models, index."""
