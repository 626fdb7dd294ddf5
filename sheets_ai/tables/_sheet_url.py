"""Google Sheets URLs: every form Google hands people, read as (spreadsheet id, gid).

``https://docs.google.com/spreadsheets/d/<id>/edit#gid=<gid>`` and its variants: ``/u/<n>/`` when signed in
to several accounts, ``/a/<domain>/`` (old Workspace links), ``http://`` or no scheme at all, any view after
the id (``/edit``, ``/htmlview``, ``/preview`` …), and the gid in the fragment, the query or both (the
fragment is the tab that was open). No heavy imports here: ``is_google_sheet`` runs for every source.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import SourceError

_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NO_SCHEME = re.compile(r"^(?:www\.)?docs\.google\.com(?:/|$)", re.IGNORECASE)
_SHEET_PATH = re.compile(r"^/(?:a/[^/]+/)?spreadsheets/(?:u/\d+/)?d/(?P<id>[A-Za-z0-9_-]+)(?P<rest>/.*)?$")
_GID = re.compile(r"(?:^|[&?#])gid=(\d+)")
_HOSTS = {"docs.google.com", "www.docs.google.com"}
_EXAMPLE = "https://docs.google.com/spreadsheets/d/<id>/edit"


def is_url(source: str) -> bool:
    """Whether ``source`` is a URL (any scheme), or a Google Docs address typed without one."""
    text = source.strip()
    return bool(_HAS_SCHEME.match(text) or _NO_SCHEME.match(text))


def parse_source(source: str) -> tuple[str, int | None]:
    """A Sheets URL or a bare spreadsheet id -> (spreadsheet id, gid or None)."""
    text = source.strip()
    if not is_url(text):
        return text, None
    parts = urlsplit(text if _HAS_SCHEME.match(text) else "https://" + text)
    match = _SHEET_PATH.match(parts.path)
    if parts.scheme.lower() not in ("http", "https") or (parts.hostname or "") not in _HOSTS or not match:
        raise SourceError(
            f"{source.strip()!r} is not a Google Sheets URL. Give the sheet's address ({_EXAMPLE}), its id, "
            "or the path of a local .xlsx or .csv file."
        )
    if match["id"] == "e" and (match["rest"] or "").startswith("/2PACX"):
        raise SourceError(
            f"{source.strip()!r} is a 'Publish to the web' link, which the Sheets API cannot open. Open the "
            f"sheet itself and copy its address from the browser ({_EXAMPLE})."
        )
    gid = _GID.search("#" + parts.fragment) or _GID.search("?" + parts.query)
    return match["id"], int(gid[1]) if gid else None
