from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from tilesets import views as tileset_views

api = [
    path("", include("tilesets.urls")),
    path("", include("chroms.urls")),
    path("", include("fragments.urls")),
    path("htsget/", include("htsget.urls")),
    path("api-auth/", include("rest_framework.urls")),
    re_path(r"^.*$", tileset_views.api_not_found),
]

urlpatterns = [
    path("api/v1/", tileset_views.index, name="index"),
    path("admin", RedirectView.as_view(url="admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api)),
    path("", include("website.urls")),  # the viewer at / (API clients asking / get the JSON index)
]

handler400 = "higlass_server.errors.bad_request"
handler403 = "higlass_server.errors.permission_denied"
handler404 = "higlass_server.errors.page_not_found"
handler500 = "higlass_server.errors.server_error"
