"""CSV files are written back in the format they came in (delimiter, quoting, line endings, encoding, BOM),
with only the output column added; formula-like results get an apostrophe."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from conftest import invoke, openai_args, run_cli, run_json

from sheets_ai.testing._openai_answers import expected_answer
from sheets_ai.testing.openai_server import FakeOpenAI

ROWS = [
    ["id", "review", "stars"],
    ["1", "I love this kettle, it boils fast.", "5"],
    ["2", "Terrible. It broke after a week; the lid leaks.", "1"],
    ["3", "", "3"],
    ["4", "配送が早くて、とても満足しています。", "5"],
    ["5", 'He said "never again",\nand meant it. Awful service.', "1"],
]
LABELS = {"positive", "negative", "neutral", "mixed"}


def _render(rows: list[list[str]], *, delimiter: str, quoting: int, newline: str) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=newline).writerows(rows)
    return buf.getvalue()


FORMATS = {
    "comma": dict(delimiter=",", quoting=csv.QUOTE_MINIMAL, newline="\n", encoding="utf-8", bom=False),
    "semicolon": dict(delimiter=";", quoting=csv.QUOTE_MINIMAL, newline="\n", encoding="utf-8", bom=False),
    "tab": dict(delimiter="\t", quoting=csv.QUOTE_MINIMAL, newline="\n", encoding="utf-8", bom=False),
    "quote_all": dict(delimiter=",", quoting=csv.QUOTE_ALL, newline="\n", encoding="utf-8", bom=False),
    "crlf": dict(delimiter=",", quoting=csv.QUOTE_MINIMAL, newline="\r\n", encoding="utf-8", bom=False),
    "bom": dict(delimiter=",", quoting=csv.QUOTE_MINIMAL, newline="\r\n", encoding="utf-8", bom=True),
    "cp932": dict(delimiter=",", quoting=csv.QUOTE_MINIMAL, newline="\r\n", encoding="cp932", bom=False),
}


def _encode(text: str, fmt: dict) -> bytes:
    return (codecs.BOM_UTF8 if fmt["bom"] else b"") + text.encode(fmt["encoding"])


@pytest.mark.parametrize("name", list(FORMATS))
def test_written_back_in_the_same_format(tmp_path: Path, name: str) -> None:
    fmt = FORMATS[name]
    suffix = ".tsv" if name == "tab" else ".csv"
    path = tmp_path / f"reviews{suffix}"
    layout = dict(delimiter=fmt["delimiter"], quoting=fmt["quoting"], newline=fmt["newline"])
    path.write_bytes(_encode(_render(ROWS, **layout), fmt))

    proc, report = run_json("run", path, "--input", "review", "--output", "Sentiment")
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 4 and report["skipped"] == {"empty_input": 1}

    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) == fmt["bom"]
    text = raw.decode(fmt["encoding"]).removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt["delimiter"]))
    assert [r[:3] for r in rows] == ROWS
    assert rows[0][3] == "Sentiment"
    results = [r[3] for r in rows[1:]]
    assert results[2] == "" and all(r in LABELS for i, r in enumerate(results) if i != 2)
    assert results[0] == "positive" and results[1] == "negative"
    # Byte for byte what the same writer produces with the extra column: nothing else changed.
    expected_rows = [[*ROWS[0], "Sentiment"]] + [[*a, b] for a, b in zip(ROWS[1:], results, strict=True)]
    assert raw == _encode(_render(expected_rows, **layout), fmt)


def test_the_bundled_csv_example(work: Path) -> None:
    path = work / "reviews.csv"
    original = path.read_bytes().decode("utf-8").splitlines()
    proc = run_cli("run", path, "--input", "review", "--output", "sentiment")
    assert proc.returncode == 0, proc.stderr
    lines = path.read_bytes().decode("utf-8").splitlines()
    assert len(lines) == len(original)
    assert lines[0] == original[0] + ",sentiment"
    for before, after in zip(original[1:], lines[1:], strict=True):
        assert after.startswith(before + ",")


def test_formula_like_results_get_an_apostrophe(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    notes = ["=1+1", "+CMD", "-2", "@SUM(A1)", "plain"]
    path = tmp_path / "notes.csv"
    path.write_text("note\n" + "".join(f"{n}\n" for n in notes), encoding="utf-8")
    # The fake model's summary of a one-sentence note is the note itself: results that look like formulas.
    summaries = [expected_answer("summarize", n) for n in notes]
    assert summaries == notes
    result = invoke(
        "run",
        path,
        "--task",
        "summarize",
        "--input",
        "note",
        "--output",
        "summary",
        *openai_args(fake_openai),
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r[1] for r in rows[1:]] == ["'=1+1", "'+CMD", "'-2", "'@SUM(A1)", "plain"]


def test_rerun_skips_done_rows_and_output_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("text\nGreat!\nAwful.\n", encoding="utf-8")
    before = path.read_bytes()
    target = tmp_path / "out.csv"
    proc = run_cli("run", path, "--input", "text", "--output", "mood", "--output-file", target)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before
    assert target.read_text(encoding="utf-8") == "text,mood\nGreat!,positive\nAwful.,negative\n"
    proc, report = run_json("run", target, "--input", "text", "--output", "mood")
    assert report["rows_processed"] == 0 and report["skipped"] == {"already_done": 2}


def test_rows_shorter_than_the_header_are_padded_and_no_trailing_newline_kept(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,text,c\n1,Lovely\n2,Horrible,x", encoding="utf-8")
    proc = run_cli("run", path, "--input", "text", "--output", "mood")
    assert proc.returncode == 0, proc.stderr
    assert path.read_text(encoding="utf-8") == "a,text,c,mood\n1,Lovely,,positive\n2,Horrible,x,negative"


def test_sheet_option_is_rejected_for_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("text\nGreat!\n", encoding="utf-8")
    proc = run_cli("run", path, "--sheet", "x", "--input", "text", "--output", "mood")
    assert proc.returncode == 2 and "Cannot use --sheet with a CSV file" in proc.stderr


def test_spaces_after_delimiters_and_one_column_files_survive(tmp_path: Path) -> None:
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("id, text\n1, Lovely\n2, Horrible\n", encoding="utf-8")
    assert run_cli("run", spaced, "--input", "text", "--output", "mood").returncode == 0
    assert spaced.read_text(encoding="utf-8") == "id, text,mood\n1, Lovely,positive\n2, Horrible,negative\n"

    single = tmp_path / "single.csv"
    single.write_text('text\n"Great, really great; I love it"\n"Awful, just awful"\n', encoding="utf-8")
    assert run_cli("run", single, "--input", "text", "--output", "mood").returncode == 0
    assert single.read_text(encoding="utf-8") == (
        'text,mood\n"Great, really great; I love it",positive\n"Awful, just awful",negative\n'
    )
