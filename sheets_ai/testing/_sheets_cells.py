"""Cells, values and A1 notation for the Sheets API emulator: parsing input, rendering output."""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter

Scalar = str | int | float | bool

DEFAULT_ROWS = 1000
#: The most characters one cell holds (Google Sheets' limit; a longer value is a 400).
CELL_CHARS = 50_000
DEFAULT_COLS = 26

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An error answered in Google's JSON error format."""

    def __init__(self, code: int, message: str, status: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.")


# --------------------------------------------------------------------------------------------- cells


@dataclass
class Cell:
    """One cell: a literal value, or a formula with its (possibly unknown) computed value."""

    value: Scalar | None
    formula: str | None = None


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_BIN_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _eval_node(node: ast.AST) -> Scalar:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _eval_node(node.operand)
        if isinstance(v, str):
            raise ValueError("not a number")
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(left, str) or isinstance(right, str):
            raise ValueError("not a number")
        if isinstance(node.op, ast.Div) and right == 0:
            return "#DIV/0!"
        return _BIN_OPS[type(node.op)](left, right)
    raise ValueError("unsupported formula")


def evaluate_formula(formula: str) -> Scalar | None:
    """Evaluate arithmetic over literals (``=1+2*3``, ``="text"``); anything else is unknown (None)."""
    expr = formula[1:].replace("^", "**")
    if len(expr) > 200:
        return None
    try:
        return _eval_node(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError):
        return None


def parse_input(value: Any, option: str) -> Cell | None:
    """Turn one JSON input value into a cell. ``None`` means "leave the cell as it is"."""
    if value is None or isinstance(value, Cell):
        return value
    if isinstance(value, bool | int | float):
        return Cell(value)
    text = value if isinstance(value, str) else json.dumps(value)
    if text == "":
        return Cell(None)
    if option != "USER_ENTERED":
        return Cell(text)
    if text.startswith("'"):
        return Cell(text[1:])
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        num = float(stripped)
        return Cell(int(num) if num.is_integer() and abs(num) < 2**53 else num)
    if stripped.endswith("%") and _NUMBER.fullmatch(stripped[:-1]):
        return Cell(float(stripped[:-1]) / 100)
    if stripped.upper() in ("TRUE", "FALSE"):
        return Cell(stripped.upper() == "TRUE")
    if text.startswith("=") and len(text) > 1:
        return Cell(evaluate_formula(text), text)
    if text[0] in "+-" and len(text) > 1:  # typed into the UI this becomes a formula too
        formula = "=" + text
        return Cell(evaluate_formula(formula), formula)
    return Cell(text)


def format_scalar(value: Scalar) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
    return str(value)


def render(cell: Cell | None, option: str) -> Any:
    """Render a cell for FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA ("" for an empty cell)."""
    if cell is None:
        return ""
    if cell.formula is not None and (option == "FORMULA" or cell.value is None):
        return cell.formula
    if cell.value is None:
        return ""
    if option == "FORMATTED_VALUE":
        return format_scalar(cell.value)
    return cell.value


def cell_data(cell: Cell | None) -> dict[str, Any]:
    """A CellData object for ``spreadsheets.get?includeGridData=true``."""
    if cell is None or (cell.value is None and cell.formula is None):
        return {}

    def typed(v: Scalar) -> dict[str, Any]:
        key = {bool: "boolValue", int: "numberValue", float: "numberValue"}.get(type(v), "stringValue")
        return {key: v}

    out: dict[str, Any] = {}
    out["userEnteredValue"] = {"formulaValue": cell.formula} if cell.formula else typed(cell.value or "")
    if cell.value is not None:
        out["effectiveValue"] = typed(cell.value)
        out["formattedValue"] = format_scalar(cell.value)
    return out


# ------------------------------------------------------------------------------------------ A1 ranges


def col_to_index(letters: str) -> int:
    """``A`` -> 0 (the API's zero-based column index)."""
    return column_index_from_string(letters.upper()) - 1


def index_to_col(index: int) -> str:
    """0 -> ``A``."""
    return get_column_letter(index + 1)


def quote_sheet(title: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


_ENDPOINT = re.compile(r"\$?([A-Za-z]{0,3})\$?(\d*)")


def parse_a1(ref: str) -> tuple[int, int | None, int, int | None] | None:
    """Parse ``A1``, ``A1:C10``, ``B:B``, ``2:5``, ``A2:B`` into (r0, r1, c0, c1); ends exclusive, None=open."""
    parts = ref.split(":")
    if len(parts) > 2:
        return None
    ends = [_ENDPOINT.fullmatch(p.strip()) for p in parts]
    if any(m is None or not (m.group(1) or m.group(2)) for m in ends):
        return None
    (ca, ra), (cb, rb) = [(m.group(1), m.group(2)) for m in ends if m] * (2 if len(parts) == 1 else 1)
    if len(parts) == 1 and not (ca and ra):
        return None
    if (not ca and cb) or (not ra and not rb and not (ca and cb)):
        return None
    if (ra and int(ra) < 1) or (rb and int(rb) < 1):
        return None
    r0, r1 = (int(ra) - 1 if ra else 0), (int(rb) if rb else None)
    c0, c1 = (col_to_index(ca) if ca else 0), (col_to_index(cb) + 1 if cb else None)
    if r1 is not None and r1 <= r0:
        r0, r1 = r1 - 1, r0 + 1
    if c1 is not None and c1 <= c0:
        c0, c1 = c1 - 1, c0 + 1
    return r0, r1, c0, c1


def a1_of(r0: int, r1: int, c0: int, c1: int) -> str:
    start = f"{index_to_col(c0)}{r0 + 1}"
    return start if (r1 - r0, c1 - c0) == (1, 1) else f"{start}:{index_to_col(c1 - 1)}{r1}"
