"""Text as every stage reads it: words and stems, sentences, tokens, figures, dates. Imports: settings, errors."""
