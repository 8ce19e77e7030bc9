"""LangChain's standard retriever suite, run against the real seed index and model."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant import NewsRetriever

pytestmark = pytest.mark.slow


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, real_index):
        type(self)._index_dir = real_index

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index_dir": self._index_dir}

    @property
    def retriever_query_example(self) -> str:
        return "How many ISIS detainees has Iraq received?"


class TestNewsRetrieverStandardBM25(TestNewsRetrieverStandard):
    @property
    def retriever_constructor_params(self) -> dict:
        return {"index_dir": self._index_dir, "mode": "bm25"}
