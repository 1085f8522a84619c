"""Request middleware of the server."""

from django.conf import settings


class BasePathMiddleware:
    """Serve the site under ``APP_BASEPATH`` whether or not a proxy strips the prefix.

    With ``APP_BASEPATH=/hg`` the server builds its URLs under ``/hg/`` (``FORCE_SCRIPT_NAME``).
    A proxy may pass ``/hg/admin/`` through unchanged; this removes the prefix so that the same
    URL patterns match either way.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = settings.APP_BASEPATH

    def __call__(self, request):
        if self.prefix:
            path = request.path_info
            if path == self.prefix or path.startswith(self.prefix + "/"):
                request.path_info = path[len(self.prefix):] or "/"
                request.path = self.prefix + request.path_info
        return self.get_response(request)
