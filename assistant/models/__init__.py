"""Embedders and chat models (the packaged local one too), from one spec parser. Imports: settings, errors, text."""
