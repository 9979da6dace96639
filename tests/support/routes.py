"""What the request-model tests share: every route of every service and the pydantic models they take."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any, get_args

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel

API_PACKAGES = ("auth.api", "billing.api", "invoicing.api")


def routes() -> Iterator[APIRoute]:
    for package_name in API_PACKAGES:
        package = importlib.import_module(package_name)
        for module_info in pkgutil.iter_modules(package.__path__, f"{package_name}."):
            module = importlib.import_module(module_info.name)
            for value in vars(module).values():
                if isinstance(value, APIRouter):
                    yield from (route for route in value.routes if isinstance(route, APIRoute))


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models a body's annotation holds, its own fields' models included."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from models_in(field.annotation)
    for argument in get_args(annotation):
        yield from models_in(argument)
