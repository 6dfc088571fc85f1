"""The web page: GET / and its static files (plain HTML, CSS and JavaScript, no build step)."""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(tags=["page"], include_in_schema=False)

STATIC = Path(str(resources.files("streaming.service").joinpath("static")))
# The type the page's script must carry whatever the machine's MIME table says (Python 3.11's own
# table says application/javascript).
mimetypes.add_type("text/javascript", ".js")


def static_files() -> StaticFiles:
    """The folder's files under /static (Starlette keeps requests inside the folder)."""
    return StaticFiles(directory=STATIC)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")
