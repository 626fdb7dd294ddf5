"""CSV encodings: a file is read in the encoding its bytes round-trip through, written back in it, and a result
that encoding cannot hold is an error before any request (labels) or a failed row (free text) — never '?'."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import invoke, openai_args, sent_rows

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

JA_LABELS = "ポジティブ,ネガティブ,中立,混在"


def run_cli(*args: str | os.PathLike[str]) -> Any:
    """The CLI in this process (faster than a subprocess), with a subprocess-like result."""
    result = invoke(*args)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def run_json(*args: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    proc = run_cli(*args, "--json")
    assert proc.stdout.strip(), proc.stderr
    return proc, json.loads(proc.stdout)


def _csv_bytes(rows: list[list[str]], encoding: str, *, newline: str = "\r\n") -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=newline).writerows(rows)
    return buf.getvalue().encode(encoding)


def test_latin1_text_is_read_as_written_and_the_file_keeps_its_bytes(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    # These Latin-1 bytes are also valid cp932 ("Mauvais goût" would read as "Mauvais go皦"); only cp1252
    # gives the text the file was written with.
    reviews = ["Mauvais goût", "Crème brûlée", "I love it"]
    raw = _csv_bytes([["id", "review"]] + [[str(i), r] for i, r in enumerate(reviews, 1)], "latin-1")
    raw.decode("cp932")  # the trap the old order fell into
    path = tmp_path / "avis.csv"
    path.write_bytes(raw)

    proc = run_cli("run", path, "--input", "review", "--output", "Sentiment", *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert sorted(text for batch in sent_rows(fake_openai) for text in batch) == sorted(reviews)
    labels = [expected_answer("sentiment", r) for r in reviews]
    expected = [["id", "review", "Sentiment"]] + [
        [str(i), r, label] for i, (r, label) in enumerate(zip(reviews, labels, strict=True), 1)
    ]
    assert path.read_bytes() == _csv_bytes(expected, "latin-1")


def test_japanese_cp932_that_is_also_valid_cp1252_is_read_as_japanese(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    reviews = ["とても良い", "ひどい"]
    raw = _csv_bytes([["review"]] + [[r] for r in reviews], "cp932")
    raw.decode("cp1252")  # decodable as cp1252 too, into mojibake
    path = tmp_path / "reviews.csv"
    path.write_bytes(raw)
    proc = run_cli("run", path, "--input", "review", "--output", "mood", *openai_args(fake_openai))
    assert proc.returncode == 0, proc.stderr
    assert sorted(text for batch in sent_rows(fake_openai) for text in batch) == sorted(reviews)
    labels = [expected_answer("sentiment", r) for r in reviews]
    assert path.read_bytes() == _csv_bytes(
        [["review", "mood"]] + [[r, label] for r, label in zip(reviews, labels, strict=True)], "cp932"
    )


def test_japanese_labels_for_a_cp1252_csv_stop_before_any_request(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(_csv_bytes([["review"], ["Mauvais goût"], ["Très bien, j'adore"]], "cp1252"))
    before = path.read_bytes()
    args = ("run", path, "--input", "review", "--output", "感情", "--labels", JA_LABELS)
    proc = run_cli(*args, *openai_args(fake_openai))
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "cp1252" in message and "--output-file reviews-utf8.csv" in message and "UTF-8" in message
    assert fake_openai.requests == []
    assert path.read_bytes() == before

    # The suggestion works: the copy is UTF-8 (with a BOM, so Excel reads it as UTF-8); the source is untouched.
    copy = tmp_path / "reviews-utf8.csv"
    proc = run_cli(*args, *openai_args(fake_openai), "--output-file", copy)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before
    raw = copy.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["review", "感情"] and rows[1][0] == "Mauvais goût"
    assert {r[1] for r in rows[1:]} <= set(JA_LABELS.split(","))


def test_a_new_header_the_encoding_cannot_hold_stops_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(_csv_bytes([["review"], ["Mauvais goût"]], "cp1252"))
    before = path.read_bytes()
    proc = run_cli("run", path, "--input", "review", "--output", "感情")
    assert proc.returncode == 2 and "'感情'" in proc.stderr and "cp1252" in proc.stderr
    assert path.read_bytes() == before


def test_a_summary_the_encoding_cannot_hold_fails_that_row_not_the_file(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    short = "Réunion courte."
    long = "Le budget est validé pour l'année prochaine et l'équipe commence lundi matin."
    summaries = [expected_answer("summarize", t, max_chars=40) for t in (short, long)]
    assert summaries[0] == short and summaries[1].endswith("…")  # latin-1 has no "…"
    path = tmp_path / "notes.csv"
    path.write_bytes(_csv_bytes([["note"], [short], [long]], "latin-1"))
    proc, report = run_json(
        "run", path, "--task", "summarize", "--max-chars", "40", "--input", "note", "--output", "Résumé",
        "--status-column", "Status", "--encoding", "latin-1", *openai_args(fake_openai),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert report["rows_processed"] == 1 and report["rows_failed"] == 1
    [failure] = report["failures"]
    assert failure["row"] == 3 and "latin-1" in failure["reason"] and "UTF-8" in failure["reason"]
    raw = path.read_bytes()
    assert b"?" not in raw
    rows = list(csv.reader(io.StringIO(raw.decode("latin-1"), newline="")))
    assert rows[0] == ["note", "Résumé", "Status"]
    assert rows[1] == [short, short, "ok"]
    assert rows[2][:2] == [long, ""] and rows[2][2].startswith("error: ") and "latin-1" in rows[2][2]


def test_encoding_option_reads_what_detection_cannot_tell(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polish in cp1250: valid cp1252 too, where "złe" would read as "z³e".
    reviews = ["Bardzo złe, zepsute", "Świetny, polecam"]
    raw = _csv_bytes([["review"]] + [[r] for r in reviews], "cp1250")
    path = tmp_path / "opinie.csv"
    path.write_bytes(raw)
    proc = run_cli(
        "run",
        path,
        "--input",
        "review",
        "--output",
        "mood",
        "--encoding",
        "cp1250",
        *openai_args(fake_openai),
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(text for batch in sent_rows(fake_openai) for text in batch) == sorted(reviews)
    labels = [expected_answer("sentiment", r) for r in reviews]
    assert path.read_bytes() == _csv_bytes(
        [["review", "mood"]] + [[r, label] for r, label in zip(reviews, labels, strict=True)], "cp1250"
    )
    # SHEETS_AI_ENCODING works the same way.
    path.write_bytes(raw)
    monkeypatch.setenv("SHEETS_AI_ENCODING", "cp1250")
    proc, report = run_json("estimate", path, "--input", "review", "--output", "mood", "--provider", "local")
    assert proc.returncode == 0, proc.stderr
    assert [p["input"] for p in report["preview"]] == reviews


def test_encoding_option_errors(tmp_path: Path, work: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(_csv_bytes([["review"], ["Great"], ["Mauvais goût"]], "cp1252"))
    before = path.read_bytes()
    base = ("--input", "review", "--output", "mood")

    proc = run_cli("estimate", path, *base, "--encoding", "klingon")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "klingon" in proc.stderr and "--encoding" in proc.stderr

    proc = run_cli("run", path, *base, "--encoding", "utf-8", "--provider", "local")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "byte 25" in proc.stderr and "--encoding" in proc.stderr
    assert path.read_bytes() == before

    proc = run_cli("run", work / "reviews.xlsx", "--input", "Review", "--output", "S", "--encoding", "cp1252")
    assert proc.returncode == 2 and "Cannot use --encoding" in proc.stderr


def test_japanese_text_whose_bytes_do_not_round_trip_needs_encoding_option(tmp_path: Path) -> None:
    # 0x8790 is an NEC code for "≒"; cp932 writes "≒" back as 0x81E0. Reading it silently would change bytes.
    text = "約≒とても良い"
    raw = b"review\r\n" + b"\x96\xf1\x87\x90" + "とても良い\r\n".encode("cp932")
    assert raw.decode("cp932") == "review\r\n" + text + "\r\n" and raw.decode("cp932").encode("cp932") != raw
    path = tmp_path / "r.csv"
    path.write_bytes(raw)
    proc = run_cli("run", path, "--input", "review", "--output", "mood")
    assert proc.returncode == 2 and "--encoding cp932" in proc.stderr
    assert path.read_bytes() == raw

    proc, report = run_json("run", path, "--input", "review", "--output", "mood", "--encoding", "cp932")
    assert proc.returncode == 0, proc.stderr
    assert any("two codes in cp932" in n for n in report["notices"])
    assert path.read_bytes().decode("cp932").splitlines()[1].startswith(text + ",")


def test_fields_larger_than_128_kib(tmp_path: Path) -> None:
    big = "x" * (200 * 1024)
    path = tmp_path / "big.csv"
    path.write_text(f"review,attachment\nGreat!,{big}\nAwful.,small\n", encoding="utf-8")
    proc = run_cli("run", path, "--input", "review", "--output", "mood")
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding="utf-8") == (
        f"review,attachment,mood\nGreat!,{big},positive\nAwful.,small,negative\n"
    )
