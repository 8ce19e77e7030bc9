"""The chat UI: the app (layout, event wiring), rendering (escaped HTML), static CSS/JS. Imports: every part."""
