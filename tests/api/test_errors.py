"""The one error map (higlass_server.errors): body shapes, statuses, and the protocol hook."""

import pytest
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from higlass_server.exceptions import ServiceError

factory = APIRequestFactory()


class Raising(APIView):
    error = None

    def get(self, request):
        raise self.error


class Protocol(Raising):
    def service_error_body(self, exc):
        return {"proto": {"error": exc.code, "message": exc.message}}


def answer(view, error):
    response = view.as_view(error=error)(factory.get("/x"))
    response.render()
    return response


def test_service_error_body_is_error_and_code_only():
    response = answer(Raising, ServiceError("No such thing.", 404))
    assert response.status_code == 404 and response.data == {"error": "No such thing.", "code": "NotFound"}


def test_service_error_keeps_its_own_code_and_headers():
    error = ServiceError("Who are you?", 401, code="Custom", headers={"WWW-Authenticate": 'Bearer realm="x"'})
    response = answer(Raising, error)
    assert response.status_code == 401 and response.data == {"error": "Who are you?", "code": "Custom"}
    assert response["WWW-Authenticate"] == 'Bearer realm="x"'


def test_drf_errors_keep_detail():
    response = answer(Raising, NotAuthenticated())
    assert response.status_code in (401, 403) and response.data["detail"] == response.data["error"]
    response = answer(Raising, ValidationError({"name": ["This field is required."]}))
    assert response.status_code == 400 and response.data["error"] == "name: This field is required."
    assert response.data["detail"] == {"name": ["This field is required."]}


def test_unexpected_errors_are_500_without_internals():
    response = answer(Raising, RuntimeError("secret"))
    assert response.status_code == 500 and response.data == {"error": "Internal server error.", "code": "ServerError"}


@pytest.mark.parametrize(
    "error, status, code, message",
    [
        (ServiceError("Bad range.", 400, code="InvalidRange"), 400, "InvalidRange", "Bad range."),
        (ValidationError("Nope."), 400, "InvalidInput", "Nope."),
        (RuntimeError("secret"), 500, "ServerError", "Internal server error."),
    ],
)
def test_a_view_with_service_error_body_answers_every_error_in_its_protocol(error, status, code, message):
    response = answer(Protocol, error)
    assert response.status_code == status
    assert response.data == {"proto": {"error": code, "message": message}}
