"""Where results go in a file: never onto data, continuing an earlier --output-file, through symlinks, and
clear one-line errors for workbooks that cannot be used."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import openpyxl
from conftest import column_values, make_xlsx, run_cli, run_json

LABELS = {"positive", "negative", "neutral", "mixed"}
REVIEWS = [
    "Great product, works perfectly.",
    "Broken on arrival, terrible.",
    "Arrived on Tuesday.",
    "Love it, excellent quality.",
]
ARGS = ("--input", "Review", "--output", "Sentiment")


def _errors(stderr: str) -> list[str]:
    """The error lines (notices such as 'using the offline analyzer' are not errors)."""
    return [line for line in stderr.splitlines() if not line.startswith("sheets-ai: ")]


# -- the output column never lands on data ------------------------------------------------------------------
def test_a_new_xlsx_column_goes_right_of_data_under_a_blank_header(tmp_path: Path) -> None:
    rows = [["ID", "Review", None]] + [[i, t, f"note {i}" if i % 2 else None] for i, t in enumerate(REVIEWS)]
    path = make_xlsx(tmp_path / "notes.xlsx", rows)
    proc, report = run_json("run", path, *ARGS)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == len(REVIEWS)  # none of the noted rows counts as "already done"
    assert column_values(path, "C") == [None, "note 1", None, "note 3"]  # the notes are untouched
    assert column_values(path, "D", first=1)[0] == "Sentiment"
    assert all(v in LABELS for v in column_values(path, "D"))


def test_a_new_csv_column_goes_past_the_widest_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    lines = ["ID,Review"] + [
        f"{i},{t.replace(',', '')}" + (",extra" if i == 2 else "") for i, t in enumerate(REVIEWS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc, _report = run_json("run", path, *ARGS)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == ["ID", "Review", "", "Sentiment"]
    assert rows[3][2] == "extra"  # the unnamed third column keeps its value
    assert all(r[3] in LABELS for r in rows[1:])


def test_an_output_letter_over_unheaded_data_is_refused_unless_overwrite(tmp_path: Path) -> None:
    rows = [["ID", "Review", None]] + [[i, t, "keep me"] for i, t in enumerate(REVIEWS)]
    path = make_xlsx(tmp_path / "book.xlsx", rows)
    before = path.read_bytes()
    proc = run_cli("run", path, "--input", "Review", "--output", "C")
    assert proc.returncode == 2
    assert "column C has no header but holds data in 4 rows" in proc.stderr
    assert "--overwrite" in proc.stderr and len(_errors(proc.stderr)) == 1
    assert path.read_bytes() == before

    proc, _report = run_json("run", path, "--input", "Review", "--output", "C", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert all(v in LABELS for v in column_values(path, "C"))


def test_an_empty_unheaded_output_letter_gets_a_header_so_reruns_continue(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "book.xlsx", [["ID", "Review"]] + [[i, t] for i, t in enumerate(REVIEWS)])
    proc, report = run_json("run", path, "--input", "Review", "--output", "D", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    assert column_values(path, "D", first=1)[:3] == ["Sentiment", *column_values(path, "D")[:2]]
    proc, report = run_json("run", path, "--input", "Review", "--output", "D")
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 2 and report["skipped"]["already_done"] == 2


# -- --output-file continues an earlier output ---------------------------------------------------------------
def test_output_file_continues_and_redoes_changed_rows(tmp_path: Path) -> None:
    source = make_xlsx(tmp_path / "src.xlsx", [["ID", "Review"]] + [[i, t] for i, t in enumerate(REVIEWS)])
    out = tmp_path / "out.xlsx"
    proc, report = run_json("run", source, *ARGS, "--output-file", out, "--limit", "2")
    assert proc.returncode == 0 and report["rows_processed"] == 2, proc.stderr
    proc, report = run_json("run", source, *ARGS, "--output-file", out)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 2 and report["skipped"]["already_done"] == 2
    first = column_values(out, "C")
    assert all(v in LABELS for v in first)

    # The source changes: row 3's review is edited and a row is added. Only those two are done again.
    wb = openpyxl.load_workbook(source)
    ws = wb.active
    ws["B3"] = "Wonderful, I love it."
    ws.append([9, "Terrible, it broke."])
    wb.save(source)
    proc, report = run_json("run", source, *ARGS, "--output-file", out)
    assert proc.returncode == 0, proc.stderr
    assert report["rows_processed"] == 2 and report["skipped"]["already_done"] == 3
    assert column_values(out, "B") == [
        *REVIEWS[:1],
        "Wonderful, I love it.",
        *REVIEWS[2:],
        "Terrible, it broke.",
    ]
    again = column_values(out, "C")
    assert (
        again[0] == first[0]
        and again[2:4] == first[2:4]
        and again[1] == "positive"
        and again[4] == "negative"
    )
    assert column_values(source, "C") == [None] * 5  # the source itself is never written


def test_output_file_that_is_not_an_earlier_output_is_refused(tmp_path: Path) -> None:
    source = make_xlsx(tmp_path / "src.xlsx", [["ID", "Review"]] + [[i, t] for i, t in enumerate(REVIEWS)])
    other = make_xlsx(tmp_path / "other.xlsx", [["Name", "Budget"], ["a", 1]])
    before = other.read_bytes()
    proc = run_cli("run", source, *ARGS, "--output-file", other)
    assert proc.returncode == 2
    assert "other.xlsx exists but is not an earlier output of src.xlsx" in proc.stderr
    assert "choose another --output-file" in proc.stderr
    assert other.read_bytes() == before

    other_csv = tmp_path / "other.csv"
    other_csv.write_text("Name,Budget\na,1\n", encoding="utf-8")
    src_csv = tmp_path / "src.csv"
    src_csv.write_text("ID,Review\n1,Great product.\n", encoding="utf-8")
    proc = run_cli("run", src_csv, *ARGS, "--output-file", other_csv)
    assert proc.returncode == 2 and "not an earlier output" in proc.stderr
    assert other_csv.read_text(encoding="utf-8") == "Name,Budget\na,1\n"


def test_csv_output_file_continues(tmp_path: Path) -> None:
    src = tmp_path / "src.csv"
    src.write_text(
        "ID,Review\n" + "".join(f"{i},{t.replace(',', '')}\n" for i, t in enumerate(REVIEWS)), "utf-8"
    )
    out = tmp_path / "out.csv"
    proc, report = run_json("run", src, *ARGS, "--output-file", out, "--limit", "3")
    assert proc.returncode == 0 and report["rows_processed"] == 3, proc.stderr
    proc, report = run_json("run", src, *ARGS, "--output-file", out)
    assert proc.returncode == 0 and report["rows_processed"] == 1, proc.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["ID", "Review", "Sentiment"] and all(r[2] in LABELS for r in rows[1:])


def test_an_xlsm_output_file_must_stay_xlsm(tmp_path: Path) -> None:
    source = tmp_path / "macro.xlsm"
    make_xlsx(source, [["Review"], ["Great."]])
    proc = run_cli("run", source, *ARGS, "--output-file", tmp_path / "out.xlsx")
    assert proc.returncode == 2 and "a .xlsm source is written as a .xlsm file" in proc.stderr


# -- symlinks -------------------------------------------------------------------------------------------------
def test_a_symlinked_workbook_is_updated_where_it_lives(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = make_xlsx(tmp_path / "data" / "real.xlsx", [["Review"], *([t] for t in REVIEWS)])
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    proc = run_cli("run", link, *ARGS)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert all(v in LABELS for v in column_values(real, "B"))
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.xlsx"]  # no temporary or lock files


def test_a_symlinked_csv_is_updated_where_it_lives(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("Review\n" + "".join(f"{t.replace(',', '')}\n" for t in REVIEWS), "utf-8")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "reviews.csv"
    link.symlink_to(real)
    proc = run_cli("run", link, *ARGS)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert real.read_text("utf-8").splitlines()[0] == "Review,Sentiment"
    assert list((tmp_path / "links").iterdir()) == [link]


# -- workbooks that cannot be used: one line, exit 2 ---------------------------------------------------------
def test_a_sheet_whose_xml_does_not_parse_is_a_clear_error(tmp_path: Path) -> None:
    good = make_xlsx(tmp_path / "good.xlsx", [["Review"], ["Great."]])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"<row></sheetData>")
            zout.writestr(info, data)
    proc = run_cli("run", bad, *ARGS)
    assert proc.returncode == 2
    lines = _errors(proc.stderr)
    assert len(lines) == 1 and "bad.xlsx is damaged" in lines[0] and "Traceback" not in proc.stderr


def test_header_row_past_the_data_names_the_row(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "book.xlsx", [["Review"], ["Great."]])
    proc = run_cli("run", path, *ARGS, "--header-row", "50")
    assert proc.returncode == 2
    assert "No header at row 50" in proc.stderr and "ends at row 2" in proc.stderr
