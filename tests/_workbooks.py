"""Small workbooks that each carry one feature a re-save could lose, and one that carries them all.

Every workbook has a ``Reviews`` sheet with the headers ``ID, Review, Stars`` (some add a column or two) and
English review texts, so ``sheets-ai run FILE --task sentiment --input Review --output Sentiment --provider
local`` can process it offline. Row 8 has no review (the run must skip it). Workbooks are made with
xlsxwriter, which writes what Excel writes (cached formula results, x14 extensions, tables, notes …); what
xlsxwriter cannot write (furigana, shared formulas) is added by editing the zip parts afterwards.

Each builder returns a :class:`Book` saying where the input is, which column the results will go to, and
which substrings prove the feature is really in the file (``markers``), so a test can check the builder
before it trusts a comparison.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from _ooxml_edits import add_furigana, make_shared, minimal_vba_project, tiny_png
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

REVIEWS: list[str] = [
    "Great value, I love it and would buy again.",
    "Terrible quality, it broke after one day.",
    "The delivery was fast and the support team was very helpful.",
    "Awful experience, the box arrived damaged and nobody answered my emails.",
    "It is a phone case.",
    "Excellent sound and a wonderful design.",
    "",  # no review: the run skips this row
    "Worst purchase ever, a complete waste of money.",
    "The color is nice but the battery life is poor.",
    "Perfect fit, comfortable and stylish.",
    "Disappointed: the item did not match the description.",
    "Happy with it, works as advertised.",
]
STARS: list[int] = [5, 1, 5, 1, 3, 5, 2, 1, 3, 5, 2, 4]
LAST_ROW = len(REVIEWS) + 1  # sheet row of the last review (the header is row 1)
#: Japanese reviewer names and their readings, for the furigana (phonetic run) workbook.
READINGS: dict[str, list[tuple[int, int, str]]] = {
    "田中太郎": [(0, 2, "タナカ"), (2, 4, "タロウ")],
    "鈴木花子": [(0, 2, "スズキ"), (2, 4, "ハナコ")],
    "佐藤健": [(0, 2, "サトウ"), (2, 3, "ケン")],
}
REVIEWERS: list[str] = [list(READINGS)[i % len(READINGS)] for i in range(len(REVIEWS))]
VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"


@dataclass(frozen=True)
class Book:
    """A workbook on disk and what a run on it should do."""

    path: Path
    feature: str
    sheet: str = "Reviews"
    input_header: str = "Review"
    output_col: str = "D"  # where a new "Sentiment" column goes: after the last header
    markers: dict[str, str] = field(default_factory=dict)  # part -> substring that proves the feature


# -- helpers ------------------------------------------------------------------------------------------------


def _new_workbook(path: Path) -> Workbook:
    return xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})


def _write_reviews(wb: Workbook, *, extra: dict[str, list[Any]] | None = None) -> Worksheet:
    """The Reviews sheet: ID, Review, Stars and any extra columns, with styles Excel would have."""
    ws = wb.add_worksheet("Reviews")
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True})
    headers = ["ID", "Review", "Stars", *(extra or {})]
    ws.write_row(0, 0, headers, bold)
    ws.set_column("B:B", 48, wrap)
    ws.freeze_panes(1, 0)
    for i, (text, stars) in enumerate(zip(REVIEWS, STARS, strict=True), start=1):
        ws.write_number(i, 0, i)
        if text:
            ws.write_string(i, 1, text, wrap)
        ws.write_number(i, 2, stars)
        for j, values in enumerate((extra or {}).values(), start=3):
            if values[i - 1] is not None:
                ws.write(i, j, values[i - 1])
    return ws


def _sheet_part(index: int = 1) -> str:
    return f"xl/worksheets/sheet{index}.xml"


# -- one feature each ----------------------------------------------------------------------------------------


def chart(folder: Path) -> Book:
    path = folder / "chart.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    bars = wb.add_chart({"type": "column"})
    bars.add_series({"name": "Stars", "values": f"=Reviews!$C$2:$C${LAST_ROW}"})
    ws.insert_chart("F2", bars)
    wb.close()
    return Book(path, "chart", markers={"xl/charts/chart1.xml": "<c:barChart>"})


def image(folder: Path) -> Book:
    path = folder / "image.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.insert_image("F2", "logo.png", {"image_data": io.BytesIO(tiny_png())})
    wb.close()
    return Book(path, "image", markers={"xl/media/image1.png": "PNG", "xl/drawings/drawing1.xml": "xdr:pic"})


def sparklines(folder: Path) -> Book:
    path = folder / "sparklines.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.add_sparkline("H2", {"range": f"Reviews!C2:C{LAST_ROW}", "type": "column", "markers": True})
    wb.close()
    return Book(path, "sparklines", markers={_sheet_part(): "x14:sparklineGroups"})


def data_bars(folder: Path) -> Book:
    path = folder / "data_bars.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.conditional_format(
        f"C2:C{LAST_ROW}", {"type": "data_bar", "bar_color": "#63C384", "data_bar_2010": True}
    )
    wb.close()
    return Book(path, "data_bars", markers={_sheet_part(): "<x14:dataBar"})


def icon_sets(folder: Path) -> Book:
    path = folder / "icon_sets.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.conditional_format(f"C2:C{LAST_ROW}", {"type": "icon_set", "icon_style": "3_arrows"})
    wb.close()
    return Book(path, "icon_sets", markers={_sheet_part(): '<iconSet iconSet="3Arrows"'})


def rich_text(folder: Path) -> Book:
    """Rich text in the input column itself (the run must read it as its plain text) and in a note column."""
    path = folder / "rich_text.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb, extra={"Note": [None] * len(REVIEWS)})
    bold, red = wb.add_format({"bold": True}), wb.add_format({"font_color": "red", "italic": True})
    first = REVIEWS[0]
    ws.write_rich_string("B2", bold, first[:11], first[11:])
    ws.write_rich_string("D3", "checked by ", red, "support")
    wb.close()
    return Book(path, "rich_text", output_col="E", markers={"xl/sharedStrings.xml": "<r><rPr><b/>"})


def furigana(folder: Path) -> Book:
    path = folder / "furigana.xlsx"
    wb = _new_workbook(path)
    _write_reviews(wb, extra={"Reviewer": REVIEWERS})
    wb.close()
    add_furigana(path, "D", READINGS)
    return Book(
        path,
        "furigana",
        output_col="E",
        markers={"xl/sharedStrings.xml": '<rPh sb="0" eb="2"><t>タナカ</t></rPh>', _sheet_part(): 'ph="1"'},
    )


def review_lengths() -> list[int]:
    return [len(text) for text in REVIEWS]


def _dynamic_lengths(ws: Worksheet, cell: str, source: str) -> None:
    """A spilling =LEN(range) formula, with the values Excel caches in the anchor and the spill cells."""
    lengths = review_lengths()
    row, col = xlsxwriter.utility.xl_cell_to_rowcol(cell)
    end = xlsxwriter.utility.xl_rowcol_to_cell(row + len(lengths) - 1, col)
    ws.write_dynamic_array_formula(f"{cell}:{end}", f"=LEN({source})", None, lengths[0])
    for i, value in enumerate(lengths[1:], start=1):
        ws.write_number(row + i, col, value)


def dynamic_array(folder: Path) -> Book:
    path = folder / "dynamic_array.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb, extra={"Length": [None] * len(REVIEWS)})
    _dynamic_lengths(ws, "D2", f"B2:B{LAST_ROW}")
    wb.close()
    return Book(
        path, "dynamic_array", output_col="E", markers={"xl/metadata.xml": "XLDAPR", _sheet_part(): 'cm="1"'}
    )


def _doubled_stars(ws: Worksheet, col: int) -> None:
    for i, stars in enumerate(STARS, start=1):
        ws.write_formula(i, col, f"=C{i + 1}*2", None, stars * 2)


def shared_formulas(folder: Path) -> Book:
    path = folder / "shared_formulas.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb, extra={"Double": [None] * len(REVIEWS)})
    _doubled_stars(ws, 3)
    wb.close()
    make_shared(path, "D", 2, LAST_ROW)
    return Book(path, "shared_formulas", output_col="E", markers={_sheet_part(): '<f t="shared" si="0"/>'})


def _summary_sheet(wb: Workbook) -> Worksheet:
    """A second sheet of formulas over Reviews, each with the result Excel cached."""
    ws = wb.add_worksheet("Summary")
    texts = [t for t in REVIEWS if t]
    ws.write_row(0, 0, ["Metric", "Value"])
    ws.write_string(1, 0, "Reviews")
    ws.write_formula(1, 1, f"=COUNTA(Reviews!B2:B{LAST_ROW})", None, len(texts))
    ws.write_string(2, 0, "Average stars")
    ws.write_formula(
        2,
        1,
        f"=AVERAGE(Reviews!C2:C{LAST_ROW})",
        wb.add_format({"num_format": "0.00"}),
        sum(STARS) / len(STARS),
    )
    ws.write_string(3, 0, "First review")
    ws.write_formula(3, 1, "=Reviews!B2", None, REVIEWS[0])
    ws.write_string(4, 0, "Five stars")
    ws.write_formula(
        4,
        1,
        f'=COUNTIF(Reviews!C2:C{LAST_ROW},5)&" of "&COUNT(Reviews!C2:C{LAST_ROW})',
        None,
        f"{STARS.count(5)} of {len(STARS)}",
    )
    return ws


def cached_results(folder: Path) -> Book:
    path = folder / "cached_results.xlsx"
    wb = _new_workbook(path)
    _write_reviews(wb)
    _summary_sheet(wb)
    wb.close()
    return Book(path, "cached_results", markers={_sheet_part(2): "<v>11</v>"})


def _table(ws: Worksheet, *, extra: list[dict[str, Any]] | None = None) -> None:
    columns = [
        {"header": "ID", "total_string": "Total"},
        {"header": "Review"},
        {"header": "Stars", "total_function": "average", "total_value": sum(STARS) / len(STARS)},
        *(extra or []),
    ]
    ws.add_table(
        0, 0, LAST_ROW, len(columns) - 1,
        {"name": "ReviewTable", "columns": columns, "total_row": True, "style": "Table Style Medium 2"},
    )  # fmt: skip


def table(folder: Path) -> Book:
    """An Excel Table (ListObject) over ID, Review, Stars with a totals row; the output goes right of it."""
    path = folder / "table.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    _table(ws)
    wb.close()
    return Book(path, "table", markers={"xl/tables/table1.xml": 'totalsRowCount="1"'})


def autofilter(folder: Path) -> Book:
    path = folder / "autofilter.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.autofilter(f"A1:C{LAST_ROW}")
    wb.close()
    return Book(path, "autofilter", markers={_sheet_part(): f'<autoFilter ref="A1:C{LAST_ROW}"/>'})


def _notes(ws: Worksheet) -> None:
    ws.write_comment("B3", "Customer asked for a refund.", {"author": "Support"})
    ws.write_comment("C5", "Stars corrected by hand.", {"author": "QA", "visible": True})


def notes(folder: Path) -> Book:
    path = folder / "notes.xlsx"
    wb = _new_workbook(path)
    _notes(_write_reviews(wb))
    wb.close()
    return Book(path, "notes", markers={"xl/comments1.xml": "Customer asked for a refund."})


def _names(wb: Workbook) -> None:
    wb.define_name("ReviewTexts", f"=Reviews!$B$2:$B${LAST_ROW}")
    wb.define_name("Reviews!TopStars", "=Reviews!$C$2")
    wb.define_name("Rate", "=0.2")


def defined_names(folder: Path) -> Book:
    path = folder / "defined_names.xlsx"
    wb = _new_workbook(path)
    _write_reviews(wb)
    _names(wb)
    wb.close()
    return Book(path, "defined_names", markers={"xl/workbook.xml": '<definedName name="ReviewTexts">'})


def protection(folder: Path) -> Book:
    path = folder / "protection.xlsx"
    wb = _new_workbook(path)
    ws = _write_reviews(wb)
    ws.protect("secret", {"format_columns": True, "autofilter": True})
    wb.close()
    return Book(path, "protection", markers={_sheet_part(): "<sheetProtection "})


def macro(folder: Path) -> Book:
    path = folder / "macro.xlsm"
    wb = _new_workbook(path)
    _write_reviews(wb)
    wb.add_vba_project(io.BytesIO(minimal_vba_project()), is_stream=True)
    wb.close()
    return Book(path, "macro", markers={"[Content_Types].xml": VBA_CONTENT_TYPE, "xl/vbaProject.bin": ""})


def formula_input(folder: Path) -> Book:
    """The input column is formulas (=Raw!A2 …) whose results Excel cached; the texts live on sheet Raw."""
    path = folder / "formula_input.xlsx"
    wb = _new_workbook(path)
    ws = wb.add_worksheet("Reviews")
    raw = wb.add_worksheet("Raw")
    ws.write_row(0, 0, ["ID", "Review", "Stars"])
    raw.write_string(0, 0, "Text")
    for i, (text, stars) in enumerate(zip(REVIEWS, STARS, strict=True), start=1):
        ws.write_number(i, 0, i)
        if text:
            raw.write_string(i, 0, text)
            ws.write_formula(i, 1, f"=Raw!A{i + 1}", None, text)
        ws.write_number(i, 2, stars)
    wb.close()
    return Book(path, "formula_input", markers={_sheet_part(): f"<f>Raw!A2</f><v>{REVIEWS[0]}</v>"})


# -- all of them ---------------------------------------------------------------------------------------------


def kitchen_sink(folder: Path) -> Book:
    """Every feature above in one macro-enabled workbook.

    Reviews: a table with a totals row over ID, Review (one rich text), Stars, Reviewer (furigana) and
    Double (a shared formula), data bars, an icon set, a sparkline, a chart, an image, notes and sheet
    protection. Summary: cached formula results, a dynamic array and a sheet-level autofilter. Defined
    names, and a macro part. The output goes right of the table, in column F.
    """
    path = folder / "kitchen_sink.xlsm"
    wb = _new_workbook(path)
    ws = _write_reviews(wb, extra={"Reviewer": REVIEWERS, "Double": [None] * len(REVIEWS)})
    _table(
        ws,
        extra=[
            {"header": "Reviewer"},
            {"header": "Double", "total_function": "sum", "total_value": 2 * sum(STARS)},
        ],
    )
    _doubled_stars(ws, 4)
    bold = wb.add_format({"bold": True})
    ws.write_rich_string("B2", bold, REVIEWS[0][:11], REVIEWS[0][11:], wb.add_format({"text_wrap": True}))
    ws.conditional_format(
        f"C2:C{LAST_ROW}", {"type": "data_bar", "bar_color": "#63C384", "data_bar_2010": True}
    )
    ws.conditional_format(f"E2:E{LAST_ROW}", {"type": "icon_set", "icon_style": "3_traffic_lights"})
    ws.add_sparkline("H2", {"range": f"Reviews!C2:C{LAST_ROW}", "type": "column"})
    bars = wb.add_chart({"type": "column"})
    bars.add_series({"name": "Stars", "values": f"=Reviews!$C$2:$C${LAST_ROW}"})
    ws.insert_chart("H4", bars)
    ws.insert_image("H20", "logo.png", {"image_data": io.BytesIO(tiny_png())})
    _notes(ws)
    ws.protect("", {"format_columns": True, "sort": True})
    summary = _summary_sheet(wb)
    summary.write_string(0, 3, "Length")
    _dynamic_lengths(summary, "D2", f"Reviews!B2:B{LAST_ROW}")
    summary.autofilter("A1:B5")
    _names(wb)
    wb.add_vba_project(io.BytesIO(minimal_vba_project()), is_stream=True)
    wb.close()
    make_shared(path, "E", 2, LAST_ROW)
    add_furigana(path, "D", READINGS)
    return Book(
        path,
        "kitchen_sink",
        output_col="F",
        markers={
            "xl/tables/table1.xml": 'totalsRowCount="1"',
            "xl/charts/chart1.xml": "<c:barChart>",
            "xl/media/image1.png": "PNG",
            "xl/comments1.xml": "Customer asked for a refund.",
            "xl/metadata.xml": "XLDAPR",
            "xl/vbaProject.bin": "",
            "xl/sharedStrings.xml": "<rPh ",
            _sheet_part(1): "x14:sparklineGroups",
            _sheet_part(2): '<autoFilter ref="A1:B5"/>',
        },
    )


BUILDERS: dict[str, Callable[[Path], Book]] = {
    f.__name__: f
    for f in (
        chart, image, sparklines, data_bars, icon_sets, rich_text, furigana, dynamic_array, shared_formulas,
        cached_results, table, autofilter, notes, defined_names, protection, macro, formula_input, kitchen_sink,
    )
}  # fmt: skip


def build(feature: str, folder: Path) -> Book:
    folder.mkdir(parents=True, exist_ok=True)
    return BUILDERS[feature](folder)
