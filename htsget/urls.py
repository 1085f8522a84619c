"""Routes under /api/v1/htsget/ (GA4GH htsget 1.3; see docs/htsget.md)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^reads/service-info/?$", views.reads_service_info, name="htsget-reads-service-info"),
    re_path(r"^variants/service-info/?$", views.variants_service_info, name="htsget-variants-service-info"),
    re_path(r"^data/(?P<uuid>[A-Za-z0-9_\-]+)/?$", views.data, name="htsget-data"),
    path("reads/<path:ident>", views.reads_ticket, name="htsget-reads"),
    path("variants/<path:ident>", views.variants_ticket, name="htsget-variants"),
    re_path(r"^.*$", views.not_found),
]
