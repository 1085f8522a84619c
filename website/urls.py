from django.templatetags.static import static
from django.urls import path, re_path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", views.viewer, name="viewer"),
    re_path(r"^l/?$", views.link, name="viewer-link"),
    # browsers ask every page of the site (admin and login pages too) for it
    path("favicon.ico", RedirectView.as_view(url=static("website/favicon.svg"), permanent=False)),
]
