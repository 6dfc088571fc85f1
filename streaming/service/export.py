"""Any list the API answers, as CSV: ``format=csv`` or ``Accept: text/csv``.

The columns are those the page shows for the list (``LIST_COLUMNS``, plus ``score`` for search and
similarity), one row per item in the answer's order. A text cell that a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

Format = Literal["json", "csv"]
LIST_COLUMNS: tuple[str, ...] = (
    "influencer", "category", "confidence", "post_count", "followers", "engagement_rate",
    "posts_per_week", "likes_mean", "comments_mean", "model_version",
)  # fmt: skip
SCORED_COLUMNS: tuple[str, ...] = ("influencer", "score", *LIST_COLUMNS[1:-1])
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV when asked"}
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def format_param(
    format: Format = Query("json", description="csv: the list as CSV (as with Accept: text/csv)"),
) -> Format:
    return format


def wants_csv(request: Request, format: Format) -> bool:
    return format == "csv" or "text/csv" in request.headers.get("accept", "")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_response(items: Sequence[BaseModel], columns: Sequence[str], name: str) -> Response:
    """``items`` as a CSV download ``name``.csv with ``columns`` (each an attribute of the items)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(getattr(item, column, None)) for column in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
