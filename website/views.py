"""The viewer page at ``/``: a tileset browser and the HiGlass client, both served by us."""

import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.csrf import ensure_csrf_cookie

from tilesets.views import index as api_index

PAGE_SIZE = 20


def wants_html(request):
    """Browsers ask for HTML; API clients (curl, scripts) keep getting the JSON index."""
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


@lru_cache(maxsize=1)
def client_version():
    """The installed HiGlass client's version, or None when node_modules is missing."""
    found = finders.find("vendor/higlass/hglib.min.js")
    if not found:
        return None
    try:
        package = json.loads((settings.NODE_MODULES / "higlass" / "package.json").read_text())
    except (AttributeError, OSError, ValueError):
        return "unknown"
    return package.get("version", "unknown")


@ensure_csrf_cookie
def viewer(request):
    if not wants_html(request):
        response = api_index(request)
        patch_vary_headers(response, ["Accept"])
        return response
    base = settings.APP_BASEPATH
    viewer_url = f"{base}/"
    context = {
        "api_url": f"{base}/api/v1",
        "admin_url": f"{base}/admin/",
        "viewer_url": viewer_url,
        "login_url": f"{base}/api/v1/api-auth/login/?{urlencode({'next': viewer_url})}",
        "logout_url": f"{base}/api/v1/api-auth/logout/",
        "page_config": {
            "api": f"{base}/api/v1",
            "viewerUrl": viewer_url,
            "pageSize": PAGE_SIZE,
            "csrfToken": get_token(request),
            "user": request.user.get_username() if request.user.is_authenticated else None,
            "client": client_version(),
        },
    }
    response = render(request, "website/viewer.html", context)
    patch_vary_headers(response, ["Accept"])
    return response


def link(request):
    """``/l/?d=<uid>``, the link the HiGlass client makes after "export view as link"."""
    uid = request.GET.get("d", "")
    target = f"{settings.APP_BASEPATH}/"
    return redirect(f"{target}?{urlencode({'config': uid})}" if uid else target)
