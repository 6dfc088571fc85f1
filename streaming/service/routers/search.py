"""GET /api/search: influencers ranked by what their posts are about, from a few words.

The query goes through the text encoder of the served model's folder (the one that encoded every
post's text in the job) and is compared, by cosine, with each influencer's attention-pooled text
vector: the posts the model found telling weigh most, as in the category. Needs the model loaded
(503 otherwise); only the served model's profiles are searched, with the filters of the lists.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from streaming.config import ServiceSettings
from streaming.service import export
from streaming.service.deps import ModelDep, StoreDep
from streaming.service.params import FiltersDep
from streaming.service.problems import responses
from streaming.service.schemas import SearchResult
from streaming.service.views import default_k, similar_item
from streaming.text_space import encode_query, text_dim

QUERY_MAX_CHARS = 200


def build_router(service: ServiceSettings) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["search"])
    encoding = threading.Lock()  # one query through the text encoder at a time (it uses every core)

    @router.get(
        "/search",
        response_model=SearchResult,
        responses={
            **responses(422, 503, described={503: "no model with a text encoder is loaded"}),
            **export.CSV_RESPONSE,
        },
    )
    def search(
        request: Request,
        model: ModelDep,
        store: StoreDep,
        where: FiltersDep,
        format: export.Format = Depends(export.format_param),
        q: str = Query(min_length=1, max_length=QUERY_MAX_CHARS, description="words, e.g. vegan sourdough"),
        k: int = Query(
            default_k(service), ge=1, le=service.max_k, description="how many, at most service.max_k"
        ),
    ) -> SearchResult | Response:
        """The k influencers whose posts are most about ``q`` (cosine of the pooled text vectors)."""
        if not q.strip():
            raise HTTPException(422, "query q: give some words to search for")
        if not text_dim(model):
            raise HTTPException(503, f"model {model.version} has no text encoder: topic search is off")
        with encoding:
            vector = encode_query(model, q)  # (T,)
        hits = store.search_text(vector, model.version, k, where)
        results = [similar_item(profile, score, store.figures(profile)) for profile, score in hits]
        if export.wants_csv(request, format):
            return export.csv_response(results, export.SCORED_COLUMNS, "search")
        return SearchResult(query=q, model_version=model.version, results=results)

    return router
