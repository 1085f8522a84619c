"""Routes under /api/v1/htsget/ (GA4GH htsget 1.3; see docs/htsget.md)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^reads/service-info/?$", views.ServiceInfoView.as_view(endpoint="reads"),
            name="htsget-reads-service-info"),
    re_path(r"^variants/service-info/?$", views.ServiceInfoView.as_view(endpoint="variants"),
            name="htsget-variants-service-info"),
    re_path(r"^data/(?P<uuid>[A-Za-z0-9_\-]+)/?$", views.DataView.as_view(), name="htsget-data"),
    path("reads/<path:ident>", views.TicketView.as_view(endpoint="reads"), name="htsget-reads"),
    path("variants/<path:ident>", views.TicketView.as_view(endpoint="variants"), name="htsget-variants"),
    re_path(r"^.*$", views.MissingView.as_view()),
]
