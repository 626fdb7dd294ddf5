"""Edits of OOXML packages that xlsxwriter cannot make, and the bytes of a tiny PNG and a stand-in macro part.

Each edit rewrites one zip part in place and keeps every other part, the part order and the compression.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

SHEET1 = "xl/worksheets/sheet1.xml"


def tiny_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG made with zlib and struct only."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def minimal_vba_project() -> bytes:
    """A valid OLE compound file (CFB v3) holding an empty ``VBA`` storage: a stand-in vbaProject.bin.

    Not a working VBA project (that needs compressed dir and module streams per MS-OVBA); enough to make
    a real macro-enabled package whose ``xl/vbaProject.bin`` part must survive byte for byte.
    """
    end, free, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,  # minor version
        3,  # major version: 512-byte sectors
        0xFFFE,  # byte order
        9,  # sector shift
        6,  # mini sector shift
        b"\0" * 6,
        0,  # directory sectors (always 0 in v3)
        1,  # FAT sectors
        1,  # first directory sector
        0,  # transaction signature
        0x1000,  # mini stream cutoff
        end,  # first mini FAT sector
        0,  # mini FAT sectors
        end,  # first DIFAT sector
        0,  # DIFAT sectors
    )
    difat = struct.pack("<I", 0) + struct.pack("<I", free) * 108
    fat = struct.pack("<II", 0xFFFFFFFD, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, child: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            encoded,
            len(encoded),
            kind,
            1 if name else 0,  # black
            nostream,
            nostream,
            child,
            b"\0" * 16,
            0,
            0,
            0,
            end if kind == 5 else 0,
            0,
        )

    directory = entry("Root Entry", 5, 1) + entry("VBA", 1, nostream) + entry("", 0, nostream) * 2
    data = header + difat + fat + directory
    assert len(data) == 3 * 512
    return data


def rewrite_part(path: Path, part: str, edit: Callable[[str], str]) -> None:
    """Replace one zip part's text, keeping every other part, their order and compression."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    assert part in [info.filename for info, _ in entries], f"{path.name} has no part {part}"
    out = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(out, "w") as zf:
        for info, data in entries:
            if info.filename == part:
                new = edit(data.decode("utf-8"))
                assert new != data.decode("utf-8"), f"editing {part} changed nothing"
                data = new.encode("utf-8")
            zf.writestr(info, data)
    out.replace(path)


def sub_once(pattern: str, repl: str | Callable[[re.Match[str]], str], text: str) -> str:
    new, n = re.subn(pattern, repl, text, count=1)
    assert n == 1, f"pattern {pattern!r} not found"
    return new


def add_furigana(
    path: Path, column: str, readings: Mapping[str, list[tuple[int, int, str]]], sheet_part: str = SHEET1
) -> None:
    """Give the reviewer names phonetic runs (<rPh>, <phoneticPr>, per ECMA-376 CT_Rst) and show them."""

    def strings(xml: str) -> str:
        for name, runs in readings.items():
            phonetic = "".join(f'<rPh sb="{sb}" eb="{eb}"><t>{text}</t></rPh>' for sb, eb, text in runs)
            xml = sub_once(
                f"<si><t>{name}</t></si>",
                f'<si><t>{name}</t>{phonetic}<phoneticPr fontId="0" type="Hiragana"/></si>',
                xml,
            )
        return xml

    def sheet(xml: str) -> str:
        # Show the readings (ph="1") on the name cells, and the sheet's own phonetic settings.
        xml, n = re.subn(rf'<c r="({column}\d+)"([^>]*) t="s">', r'<c r="\1"\2 t="s" ph="1">', xml)
        assert n > len(readings), f"expected name cells in {column}, found {n}"
        # CT_Worksheet order: … mergeCells, phoneticPr, conditionalFormatting, dataValidations, hyperlinks,
        # printOptions, pageMargins …
        follower = r"<(?=(?:conditionalFormatting|dataValidations|hyperlinks|printOptions|pageMargins)[ >])"
        return sub_once(follower, '<phoneticPr fontId="0" type="Hiragana"/><', xml)

    rewrite_part(path, "xl/sharedStrings.xml", strings)
    rewrite_part(path, sheet_part, sheet)


def make_shared(path: Path, column: str, first: int, last: int, sheet_part: str = SHEET1) -> None:
    """Turn the formulas of column ``column`` (rows first..last) into one shared formula, as Excel does."""

    def edit(xml: str) -> str:
        for row in range(first, last + 1):
            pattern = rf'(<c r="{column}{row}"[^>]*>)<f>([^<]*)</f>'
            if row == first:
                repl = rf'\1<f t="shared" ref="{column}{first}:{column}{last}" si="0">\2</f>'
            else:
                repl = r'\1<f t="shared" si="0"/>'
            xml = sub_once(pattern, repl, xml)
        return xml

    rewrite_part(path, sheet_part, edit)
