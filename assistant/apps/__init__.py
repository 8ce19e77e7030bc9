"""The front doors: the `assistant` CLI, the chat UI, the evaluation. The top layer: may import every part."""
