"""Sending response models as JSON once: validated when built, serialised by pydantic's Rust core.

Returning a model from a route makes FastAPI dump it to a dict, validate it again and encode it
(three passes over a page of 20 articles x 20 entities); routes return ``model_response(model)``
and keep ``response_model=`` on the decorator for the OpenAPI document.
"""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(content=model.model_dump_json(), status_code=status_code, media_type="application/json")
