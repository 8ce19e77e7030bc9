"""Passages for a question: the hybrid retriever, filters, follow-up queries. Imports: the bottom, reads index."""
