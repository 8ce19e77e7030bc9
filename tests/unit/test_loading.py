"""Loading and cleaning: formats, metadata, junk, repeated paragraphs, doc_id rules, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import SEEDS

from assistant.ingest.cleaning import clean_article, date_to_int, normalize_date, split_paragraphs
from assistant.ingest.loading import load_paths


def by_id(result):
    return {a.doc_id: a for a in result.articles}


# ---------------------------------------------------------------- the seeds
def test_seed_metadata_read_from_text():
    arts = by_id(load_paths([SEEDS]))
    assert len(arts) == 5
    a0, a1, a2, a3, a4 = (arts[k] for k in sorted(arts))
    assert (a0.date, a0.source, a0.dateline) == ("2025-02-26", "TEHRAN", "TEHRAN")
    assert (a1.date, a1.source) == (None, "")  # no date marker, no outlet
    assert (a2.date, a2.source) == ("2026-02-22", "")
    assert (a3.date, a3.source) == ("2026-02-02", "MENAFN")
    assert a3.title == "Iraq Receives Hundreds of ISIS Detainees from Syria"
    assert (a4.date, a4.source, a4.dateline) == ("2026-02-25", "Kurdistan24", "ERBIL")
    # the marker is metadata, not text; the stray "403" status line is junk
    assert not a0.text.startswith("date") and a0.text.startswith("TEHRAN – In a milestone")
    assert "403" not in a3.text.split("\n\n")[0] and a3.text.startswith("(MENAFN) Iraq has taken in 450")
    # the headline is the title, not a body paragraph
    assert "Iraq Receives Hundreds" not in a3.text


def test_repeated_paragraphs_removed_from_seeds():
    arts = by_id(load_paths([SEEDS]))
    a1 = arts["001_efd61a3e5694ca25.txt"]
    assert a1.text.count("The recent years have seen an uptick in Iranians fleeing") == 1
    assert a1.text.count("another 400 Iranian nationals may be deported") == 1
    a3 = arts["003_0e26de0699d51022.txt"]
    assert a3.text.count("Last month, U.S. Central Command (CENTCOM) announced a mission") == 1
    raw = (SEEDS / "001_efd61a3e5694ca25.txt").read_text()
    assert raw.count("The recent years have seen an uptick") == 2  # really repeated in the source


def test_seed_doc_ids_are_relative_paths_and_file_names(tmp_path: Path):
    nested = tmp_path / "corpus" / "2026" / "feb"
    nested.mkdir(parents=True)
    (nested / "a.txt").write_text("Some article text about Iraq and Syria that is long enough.")
    assert [a.doc_id for a in load_paths([tmp_path / "corpus"]).articles] == ["2026/feb/a.txt"]
    assert [a.doc_id for a in load_paths([nested / "a.txt"]).articles] == ["a.txt"]


# ---------------------------------------------------------------- cleaning rules
def test_date_marker_headline_and_outlet_patterns():
    c = clean_article(" date 2026-01-05 HTTP/1.1 404 Not Found\nBig Headline Here\n"
                      "BAGHDAD, Jan 5 (Reuters) - Iraq said.\n")
    assert (c.date, c.title, c.source, c.dateline) == ("2026-01-05", "Big Headline Here", "Reuters", "BAGHDAD")
    assert "404" not in c.text
    c = clean_article("(AP) — The ministry said on Sunday that talks went well.")
    assert (c.source, c.dateline) == ("AP", "")
    c = clean_article("No outlet here. Just a sentence that ends.\n\nAnother paragraph.")
    assert (c.source, c.title, c.date) == ("", "", None)


def test_explicit_metadata_wins_over_text():
    c = clean_article(" date 2026-01-05 TEHRAN – Text.", title="T", date="2020-01-01", source="Tehran Times")
    assert (c.title, c.date, c.source) == ("T", "2020-01-01", "Tehran Times")


def test_short_repeated_lines_are_kept_but_long_ones_removed():
    c = clean_article("Yes.\nYes.\nThis paragraph has more than five words in it.\n"
                      "This paragraph has more than five words in it.")
    assert c.text.split("\n\n") == ["Yes.", "Yes.", "This paragraph has more than five words in it."]


def test_soft_wrapped_lines_are_joined():
    assert split_paragraphs("The minister said that the\ntransfer was complete.\nA new paragraph.") == [
        "The minister said that the transfer was complete.", "A new paragraph."]


def test_dates():
    assert normalize_date("2026/2/3") == "2026-02-03"
    assert normalize_date("2026-02-03T10:00:00Z") == "2026-02-03"
    with pytest.raises(ValueError):
        normalize_date("yesterday")
    assert date_to_int("2026-02-03") == 20260203 and date_to_int(None) == 0


# ---------------------------------------------------------------- formats
def test_html_visible_text_only(tmp_path: Path):
    (tmp_path / "page.html").write_text("""<html><head><title>Site title</title>
      <meta property="article:published_time" content="2026-02-10T08:00:00Z">
      <meta property="og:site_name" content="Example News"><link rel="canonical" href="https://example.org/a">
      <style>p { color: red }</style><script>var secret = "do not index";</script></head>
      <body><nav>Home | World</nav><h1>Iraq takes in detainees</h1>
      <p>Iraq <b>received</b> 450 detainees, officials said.</p><p hidden>hidden text</p>
      <div style="display:none">invisible</div><p>Second <a href="#">paragraph</a>.</p>
      <footer>Copyright</footer></body></html>""")
    [a] = load_paths([tmp_path / "page.html"]).articles
    assert a.title == "Iraq takes in detainees"
    assert (a.date, a.source, a.url) == ("2026-02-10", "Example News", "https://example.org/a")
    assert a.text == "Iraq received 450 detainees, officials said.\n\nSecond paragraph."


def test_markdown(tmp_path: Path):
    (tmp_path / "a.md").write_text("---\ndate: 2026-02-11\nsource: Wire\n---\n# The Title\n\n"
                                   "Text with a [link](http://x) and ![a chart](http://img.png) and **bold**.\n")
    [a] = load_paths([tmp_path / "a.md"]).articles
    assert (a.title, a.date, a.source) == ("The Title", "2026-02-11", "Wire")
    assert a.text == "Text with a link and a chart and bold."


def test_json_and_jsonl_records(tmp_path: Path):
    recs = [{"id": "r-1", "title": "One", "date": "2026-02-01", "text": "First article text here.", "url": "http://u/1",
             "source": "Wire"},
            {"title": "Two", "text": "Second article text here."}]
    (tmp_path / "list.json").write_text(json.dumps(recs))
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in recs[1:]) + "\n\n")
    res = load_paths([tmp_path])
    assert not res.errors
    arts = by_id(res)
    assert set(arts) == {"r-1", "list.json#2", "feed.jsonl#1"}
    r1 = arts["r-1"]
    assert (r1.title, r1.date, r1.url, r1.source) == ("One", "2026-02-01", "http://u/1", "Wire")


# ---------------------------------------------------------------- bad input
def test_bad_files_get_one_line_errors_and_the_rest_loads(tmp_path: Path):
    (tmp_path / "good.txt").write_text("A perfectly good article about Iraq.")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "broken.json").write_text('{"text": "x", ')
    (tmp_path / "mixed.jsonl").write_text('{"text": "Fine record text."}\n{not json}\n{"title": "no text"}\n')
    (tmp_path / "baddate.json").write_text('{"text": "Some text.", "date": "last week"}')
    res = load_paths([tmp_path])
    assert sorted(a.doc_id for a in res.articles) == ["good.txt", "mixed.jsonl#1"]
    msgs = {Path(e.path.split(":")[0]).name + (":" + e.path.split(":")[1] if ":" in e.path else ""): e.message
            for e in res.errors}
    assert msgs["empty.txt"] == "empty file"
    assert "binary" in msgs["binary.txt"]
    assert "not valid UTF-8" in msgs["latin1.txt"] and "offset 3" in msgs["latin1.txt"]
    assert "malformed JSON" in msgs["broken.json"]
    assert "malformed JSON" in msgs["mixed.jsonl:2"]
    assert "'text'" in msgs["mixed.jsonl:3"]
    assert "'date'" in msgs["baddate.json"]
    for e in res.errors:
        assert "\n" not in str(e) and str(tmp_path) in str(e)
    assert str(tmp_path / "mixed.jsonl") in res.failed_files


def test_duplicate_doc_id_in_one_batch_is_an_error(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("Article one about Iraq.")
    (tmp_path / "b" / "x.txt").write_text("A different article about Iran.")
    res = load_paths([tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"])
    assert [a.text for a in res.articles] == ["Article one about Iraq."]
    assert len(res.errors) == 1 and "already used" in res.errors[0].message


def test_missing_path_and_unsupported_type(tmp_path: Path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    res = load_paths([tmp_path / "nope", tmp_path / "a.pdf"])
    assert [e.message for e in res.errors][0] == "no such file or folder"
    assert "unsupported file type '.pdf'" in res.errors[1].message


def test_size_limit(tmp_path: Path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    res = load_paths([tmp_path / "big.txt"], max_bytes=1000)
    assert not res.articles and "too large" in res.errors[0].message


def test_assistantignore_skips_the_question_set(tmp_path: Path):
    res = load_paths([SEEDS])
    assert not res.errors and len(res.articles) == 5
    assert not any(str(f).endswith("questions.jsonl") for f in res.scanned[str(SEEDS.resolve())])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "skip.txt").write_text("Skipped article.")
    (tmp_path / "keep.txt").write_text("Kept article.")
    (tmp_path / ".assistantignore").write_text("sub/*\n")
    assert [a.doc_id for a in load_paths([tmp_path]).articles] == ["keep.txt"]


# ------------------------------------------------------------------------- paths skipped, each with its line
def _events(paths):
    from assistant.ingest.loading import LoadError, iter_load

    events = list(iter_load(paths))
    return [str(e) for e in events if isinstance(e, LoadError)], events


def test_dangling_links_loops_and_control_characters_get_a_line_each(tmp_path):
    from assistant.ingest.loading import Article

    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "good.txt").write_text("A good article about the harbour.")
    (root / "sub" / "also.txt").write_text("Another good article about the harbour.")
    (root / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (root / "sub" / "up").symlink_to(root)  # a loop
    (root / "bad\nname.txt").write_text("A file whose name has a newline.")
    errors, events = _events([root])
    assert f"{root / 'gone.txt'}: dangling symbolic link (its target does not exist); skipped" in errors
    assert any(e.startswith(str(root / "sub" / "up")) and "a loop" in e for e in errors)
    assert any("control characters" in e and "bad\\nname.txt" in e for e in errors)
    assert sorted(a.doc_id for a in events if isinstance(a, Article)) == ["good.txt", "sub/also.txt"]
    assert all("\n" not in e for e in errors)  # one line each
    (tmp_path / "nowhere-link").symlink_to(tmp_path / "missing")
    single, _ = _events([tmp_path / "nowhere-link"])
    assert single == [f"{tmp_path / 'nowhere-link'}: dangling symbolic link (its target does not exist)"]


def test_an_unreadable_folder_is_named_and_its_articles_stay_indexed(hash_settings, tmp_path, monkeypatch):
    import os

    from assistant.ingest.indexer import Indexer

    root = tmp_path / "corpus"
    (root / "locked").mkdir(parents=True)
    (root / "open.txt").write_text("An open article about the harbour strike.")
    (root / "locked" / "secret.txt").write_text("An article in a folder that will become unreadable.")
    indexer = Indexer(hash_settings)
    assert sorted(indexer.ingest([root]).added) == ["locked/secret.txt", "open.txt"]
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # root may read everything: the refusal is simulated
    report = indexer.ingest([root])
    assert [str(e) for e in report.errors] == [f"{root / 'locked'}: cannot read the folder: Permission denied; its "
                                               "articles stay indexed as they were"]
    assert report.removed == [] and "locked/secret.txt" in indexer.catalog.load().docs
    monkeypatch.setattr(os, "scandir", lambda path: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    report = indexer.ingest([root])  # the root itself: one line, nothing removed
    assert [str(e) for e in report.errors] == [f"{root}: cannot read the folder: Permission denied; its articles "
                                               "stay indexed as they were"]
    assert report.removed == [] and len(indexer.catalog.load().docs) == 2


def test_a_record_id_with_control_characters_is_refused():
    from assistant.ingest.loading import _load_records

    items = list(_load_records(json.dumps({"id": "a\nb", "text": "Some text."}), "f.json", Path("f.json"), False))
    assert [str(x) for x in items] == ["f.json: field 'id' has control characters (a newline, a tab, ...)"]
