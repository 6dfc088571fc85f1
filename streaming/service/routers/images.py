"""GET /images?uri=...: post images, served only from inside ``job.image_roots``.

The URI is resolved exactly as the job resolves it (symlinks and ``..`` removed, then checked to
lie inside a root), so nothing outside the roots can be read whatever the request holds. With no
roots configured no image is served.
"""

from __future__ import annotations

import mimetypes
import os
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from streaming.errors import EventValidationError
from streaming.service.deps import ServicesDep
from streaming.service.problems import responses
from streaming.validate import resolve_image_uri

router = APIRouter(tags=["images"])

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}


def allowed_path(uri: str, roots: tuple[str, ...]) -> str | None:
    """The local path of ``uri`` when it lies inside one of the (resolved) roots, else None."""
    if not roots:
        return None
    try:
        return resolve_image_uri(uri, roots)
    except EventValidationError:
        return None


def image_url(uri: str | None, roots: tuple[str, ...]) -> str | None:
    """This service's URL for an image the job read from ``uri``, when it may serve it."""
    if uri is None or allowed_path(uri, roots) is None:
        return None
    return f"/images?uri={quote(uri, safe='')}"


@router.get(
    "/images",
    response_class=FileResponse,
    responses=responses(403, 404, 422, described={403: "outside the image roots", 404: "no such image"}),
)
def get_image(services: ServicesDep, uri: str = Query(..., max_length=4096)) -> FileResponse:
    """An image file named by a file URI or absolute path inside the configured image roots."""
    path = allowed_path(uri, services.image_roots)
    if path is None:
        raise HTTPException(403, "that image is outside the configured image roots (job.image_roots)")
    media_type = mimetypes.guess_type(path)[0]
    if media_type not in IMAGE_TYPES or not os.path.isfile(path):
        raise HTTPException(404, "no image file at that URI")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=3600"})
