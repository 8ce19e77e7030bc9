"""News assistant: question answering over a corpus of news articles, with citations.

Heavy modules (langchain, chromadb, torch) load only when used: ``from assistant import
NewsRetriever`` imports the retrieval stack, ``import assistant`` alone does not.
"""

__version__ = "0.1.0"
__all__ = ["NewsRetriever", "Settings", "__version__"]


def __getattr__(name: str):
    if name == "NewsRetriever":
        from assistant.retrieval.retriever import NewsRetriever

        return NewsRetriever
    if name == "Settings":
        from assistant.settings import Settings

        return Settings
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
