"""Sending response models as JSON once: validated when built, serialised by pydantic's Rust core.

Returning a model from a route makes FastAPI dump it to a dict, validate it again and encode it
(three passes over a page of 20 articles x 20 entities); routes return ``model_response(model)``
and keep ``response_model=`` on the decorator for the OpenAPI document. The article listing goes
further: Postgres renders its items as JSON and ``json_response`` sends that text unchanged
(``tests/store`` hold it to the models' shape, the fuzz test to the OpenAPI schema).
"""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


def model_response(model: BaseModel, status_code: int = 200, *, exclude_none: bool = False) -> Response:
    """``exclude_none``: leave out the optional fields not given (parts of an answer a request did not ask for)."""
    content = model.model_dump_json(exclude_none=exclude_none)
    return Response(content=content, status_code=status_code, media_type="application/json")


def json_response(content: str, status_code: int = 200) -> Response:
    """JSON text already in a response model's shape (rendered by Postgres), sent as it is."""
    return Response(content=content, status_code=status_code, media_type="application/json")
