"""Passages -> cited answer: types, engines, question, scoring, context, prompts, verify. Imports: all below it."""
