"""The fidelity harness itself: it accepts what the surgical writer should write, and names each damage.

``_reference_patch`` writes a workbook the way issue 7 asks (parts copied, output cells patched in as inline
strings, an adjacent table or autofilter grown). The harness must accept that for every workbook, openpyxl,
pandas and LibreOffice must read it, and each kind of damage a re-save causes must fail with a message that
names the part or cell. So when tests/test_xlsx_fidelity.py fails, the product is at fault, not the harness.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _fidelity_checks import assert_libreoffice_agrees, assert_readers_agree, expectation
from _libreoffice import find_soffice
from _reference_patch import patch
from _workbooks import BUILDERS, build
from _xlsx_compare import Expectation, compare_workbooks, read_parts

#: openpyxl warns when it reads (only reads, here) the x14 extensions these workbooks carry on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported and will be removed:UserWarning")


def _patched(feature: str, folder: Path) -> tuple[Path, Path, Expectation]:
    book = build(feature, folder)
    expect = expectation(book, book.path)
    target = folder / f"patched{book.path.suffix}"
    patch(book.path, target, expect)
    return book.path, target, expect


@pytest.mark.parametrize("feature", list(BUILDERS))
def test_a_correct_patch_passes(feature: str, tmp_path: Path) -> None:
    source, target, expect = _patched(feature, tmp_path)
    compare_workbooks(source, target, expect)
    assert_readers_agree(target, expect)


@pytest.mark.slow
@pytest.mark.parametrize("feature", ["kitchen_sink", "table", "autofilter", "formula_input"])
def test_libreoffice_reads_a_correct_patch(feature: str, tmp_path: Path) -> None:
    soffice = find_soffice()
    source, target, expect = _patched(feature, tmp_path / "book")
    assert_libreoffice_agrees(soffice, source, target, expect, tmp_path / "lo")


def _edit(path: Path, part: str, edit: Callable[[bytes], bytes], *, reorder: bool = False) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        data = {i.filename: zf.read(i.filename) for i in infos}
    data[part] = edit(data[part])
    if reorder:
        infos = infos[1:] + infos[:1]
    with zipfile.ZipFile(path, "w") as zf:
        for info in infos:
            zf.writestr(info, data[info.filename])


def _sub(pattern: str, repl: str) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        new, n = re.subn(pattern.encode(), repl.encode(), data, count=1)
        assert n == 1, f"no {pattern!r} to damage"
        return new

    return edit


SHEET = "xl/worksheets/sheet1.xml"
#: damage done to a correct patch of the kitchen sink -> the words the failure must contain
DAMAGE: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    "result as a formula": (SHEET, _sub(r'<c r="F3" t="inlineStr">', '<c r="F3" t="str"><f>"x"</f>'), "F3"),
    "cached result dropped": ("xl/worksheets/sheet2.xml", _sub(r"<v>11</v>", ""), "cell B2 changed"),
    "shared formula expanded": (SHEET, _sub(r'<f t="shared" si="0"/>', "<f>C3*2</f>"), "cell E3 changed"),
    "style id changed": (SHEET, _sub(r'<c r="B3" s="1"', '<c r="B3" s="2"'), "cell B3 changed"),
    "phonetic flag dropped": (SHEET, _sub(r'<c r="D2" t="s" ph="1">', '<c r="D2" t="s">'), "cell D2 changed"),
    "extLst dropped": (
        SHEET,
        _sub(r"(</tableParts>)<extLst>.*</extLst>", r"\1"),
        "elements lost ['extLst']",
    ),
    "strings rewritten": (
        "xl/sharedStrings.xml",
        _sub(r"<rPh [^>]*>.*?</rPh>", ""),
        "xl/sharedStrings.xml changed",
    ),
    "macro part altered": ("xl/vbaProject.bin", lambda b: b[:-1] + b"\1", "xl/vbaProject.bin changed"),
    "table not grown": (
        "xl/tables/table1.xml",
        _sub(r'ref="A1:F14"', 'ref="A1:E14"'),
        "xl/tables/table1.xml",
    ),
    "wrong result": (SHEET, _sub(r"<t>positive</t>", "<t>negative</t>"), "expected 'positive'"),
    "row attribute dropped": (
        SHEET,
        _sub(r'<row r="5" spans="1:6" x14ac:dyDescent="0.25">', '<row r="5">'),
        "row 5",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_each_kind_of_damage_is_named(damage: str, tmp_path: Path) -> None:
    source, target, expect = _patched("kitchen_sink", tmp_path)
    part, edit, words = DAMAGE[damage]
    _edit(target, part, edit)
    with pytest.raises(AssertionError) as failure:
        compare_workbooks(source, target, expect)
    assert words in str(failure.value), str(failure.value)


def test_reordered_parts_are_named(tmp_path: Path) -> None:
    source, target, expect = _patched("chart", tmp_path)
    _edit(target, "xl/workbook.xml", lambda b: b, reorder=True)
    assert sorted(read_parts(target)) == sorted(read_parts(source))
    with pytest.raises(AssertionError, match="parts reordered"):
        compare_workbooks(source, target, expect)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_libreoffice_fails_under_ci_and_skips_elsewhere(
    ci: str, outcome: type[BaseException], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice here
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="libreoffice-calc-nogui"):
        find_soffice()
