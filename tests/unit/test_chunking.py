"""Chunk bounds: tiktoken budget, the embedder's 254 word-piece limit (counted with its own
tokenizer, truncation and padding off), offsets, overlap, and non-Latin text."""

from __future__ import annotations

import pytest
from support import SEEDS

from assistant.ingest.chunking import Chunker, embedding_prefix
from assistant.ingest.loading import load_paths
from assistant.models.embedders import packaged_model_path
from assistant.text.sentences import sentence_spans, split_sentences
from assistant.text.tokens import WordPieceCounter, count_tiktoken


@pytest.fixture(scope="module")
def counter() -> WordPieceCounter:
    return WordPieceCounter(packaged_model_path() / "tokenizer.json", 256)


def make_chunker(counter, tokens=160, overlap=40):
    return Chunker(tokens, overlap, count_tiktoken, counter.count, counter.limit)


def check_chunks(text, title, chunks, counter, tokens):
    assert chunks, "no chunks"
    prefix = embedding_prefix(title)
    for c in chunks:
        assert text[c.start:c.end] == c.text  # offsets quote the cleaned text exactly
        assert count_tiktoken(c.text) <= tokens
        assert counter.count(prefix + c.text) <= 254
    # every sentence's text is inside some chunk, in order
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for s, e in sentence_spans(text):
        assert all(i in covered for i in range(s, e) if not text[i].isspace())
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_packaged_tokenizer_pads_to_128_unless_turned_off(counter):
    from tokenizers import Tokenizer

    naive = Tokenizer.from_file(str(packaged_model_path() / "tokenizer.json"))
    long_text = "detainees " * 400
    assert len(naive.encode("short").ids) == 128 and len(naive.encode(long_text).ids) == 128
    assert counter.count(long_text) >= 400 and counter.limit == 254


def test_seed_chunks_respect_both_budgets(counter):
    chunker = make_chunker(counter)
    for art in load_paths([SEEDS]).articles:
        chunks = chunker.split(art.text, art.title)
        check_chunks(art.text, art.title, chunks, counter, 160)
        if len(chunks) > 1:  # neighbours overlap by whole sentences
            assert any(chunks[i + 1].start < chunks[i].end for i in range(len(chunks) - 1))


def test_texts_of_few_bytes_are_not_counted_and_chunk_the_same(counter):
    # a token is at least one byte: a text of at most `budget` bytes fits without a count
    counted = []

    def counting(text):
        counted.append(text)
        return count_tiktoken(text)

    short = "Alpha bravo 12. Charlie delta."
    assert [c.text for c in Chunker(160, 40, counting, counter.count, counter.limit).split(short)] == [short]
    assert counted == []
    for art in load_paths([SEEDS]).articles:  # long articles: counted, and chunked as by counting alone
        lazy = Chunker(60, 20, counting, counter.count, counter.limit).split(art.text, art.title)
        exact = Chunker(60, 20, count_tiktoken, counter.count, counter.limit)
        exact.within = lambda text, budget: count_tiktoken(text) <= budget
        assert lazy == exact.split(art.text, art.title)
    assert counted


MIXED = [
    "The ministry said on Sunday that 450 detainees had been moved across the border.",
    "Министерство заявило, что около 5500 задержанных были переведены в иракские тюрьмы в течение месяца.",
    "وقالت الوزارة إن نحو خمسة آلاف وخمسمائة معتقل نقلوا من سوريا إلى العراق خلال الشهر الماضي.",
    "伊拉克国家安全顾问处宣布，已将约五千五百名被拘留者从叙利亚转移到伊拉克的安全监狱中。",
    "อิรักได้รับผู้ต้องขังจำนวนมากจากซีเรียและกำลังดำเนินการส่งตัวพวกเขากลับประเทศต้นทาง",
    "Ο υπουργός δήλωσε ότι η μεταφορά ολοκληρώθηκε χωρίς κανένα πρόβλημα ασφαλείας.",
]


def test_long_synthetic_multilingual_article(counter):
    # long paragraphs, an enormous run-on "sentence", and a 3,000-character run with no spaces
    paragraphs = [" ".join(MIXED[i % len(MIXED)] for i in range(j, j + 7)) for j in range(40)]
    paragraphs.append(", ".join(MIXED * 20))  # one huge sentence with spaces
    paragraphs.append("伊拉克" * 1000)  # no spaces at all
    paragraphs.append("https://example.org/" + "x" * 3000)
    text = "\n\n".join(paragraphs)
    title = "Одна длинная статья: 伊拉克 and Iraq"
    for tokens, overlap in ((160, 40), (60, 10), (400, 100)):
        chunks = make_chunker(counter, tokens, overlap).split(text, title)
        check_chunks(text, title, chunks, counter, tokens)
    assert len(chunks) > 20


def test_titles_count_against_the_limit(counter):
    text = " ".join(["Word"] * 600) + "."
    title = "A rather long headline " * 8
    chunks = make_chunker(counter, 400, 0).split(text, title)
    check_chunks(text, title, chunks, counter, 400)
    assert max(counter.count(embedding_prefix(title) + c.text) for c in chunks) > 200  # budget actually used


def test_sentences():
    text = ("The U.S. Central Command said Mr. Smith met Dr. J. Doe on Jan. 5. It was 5.5 hours long! "
            "“Is it over?” he asked.\n\nNew paragraph without a period\nAnother line. 他走了。她来了。")
    assert split_sentences(text) == [
        "The U.S. Central Command said Mr. Smith met Dr. J. Doe on Jan. 5.", "It was 5.5 hours long!",
        "“Is it over?” he asked.", "New paragraph without a period", "Another line.", "他走了。", "她来了。"]
