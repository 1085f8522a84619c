from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^chrom-sizes/?$", views.ChromSizesView.as_view(), name="chrom-sizes"),
    re_path(r"^available-chrom-sizes/?$", views.AvailableChromSizesView.as_view(), name="available-chrom-sizes"),
]
