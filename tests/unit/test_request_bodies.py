"""Every JSON request body of every service is a `RequestBody`: strict, no unknown fields, nested models too."""

from __future__ import annotations

from tests.support.routes import models_in, routes
from tollgate_shared.fields import RequestBody


def test_every_request_body_model_is_strict() -> None:
    bodies = {route.path: route.body_field.field_info.annotation for route in routes() if route.body_field}
    assert "/api/billing/orders" in bodies and "/api/auth/login" in bodies  # the walk finds the routes

    lenient = {
        f"{path}: {model.__name__}"
        for path, annotation in bodies.items()
        for model in models_in(annotation)
        if not issubclass(model, RequestBody)
    }

    assert lenient == set()
