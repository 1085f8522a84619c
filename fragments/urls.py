from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^fragments_by_loci/?$", views.FragmentsByLociView.as_view(), name="fragments-by-loci"),
    re_path(r"^fragments_by_chr/?$", views.FragmentsByChrView.as_view(), name="fragments-by-chr"),
]
