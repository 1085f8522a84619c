"""The one base of the errors that services raise for the HTTP floor to answer.

No Django here: generators and services import it. A :class:`ServiceError` carries its HTTP
status and a short code; ``higlass_server.errors`` turns it into the API's error body in one
place (``{"error": message, "code": code}``), and htsget into its protocol's body.
"""

CODES = {
    400: "InvalidInput",
    401: "InvalidAuthentication",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    414: "URITooLong",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "ServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class ServiceError(Exception):
    """A request the service cannot answer: ``status`` (HTTP), ``code`` and a one-line message.

    ``headers`` (a dict, None for none) are added to the answer, e.g. ``WWW-Authenticate``."""

    status = 400
    code = None
    headers = None

    def __init__(self, message, status=None, code=None, headers=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if headers is not None:
            self.headers = headers
        if self.code is None:
            self.code = CODES.get(self.status, "Error")
