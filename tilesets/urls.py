from django.urls import re_path

from . import views

# Every route answers with and without the trailing slash (no redirects).
tileset_list = views.TilesetViewSet.as_view({"get": "list", "post": "create"})
tileset_detail = views.TilesetViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "put": "update", "delete": "destroy"}
)

urlpatterns = [
    re_path(r"^tilesets/?$", tileset_list, name="tilesets-list"),
    re_path(r"^tilesets/(?P<uuid>[^/.]+)/?$", tileset_detail, name="tilesets-detail"),
    re_path(r"^tiles/?$", views.TilesView.as_view(), name="tiles"),
    re_path(r"^tileset_info/?$", views.TilesetInfoView.as_view(), name="tileset-info"),
    re_path(r"^viewconfs?/?$", views.ViewConfView.as_view(), name="viewconfs"),
    re_path(r"^uids_by_filename/?$", views.UidsByFilenameView.as_view(), name="uids-by-filename"),
    re_path(r"^suggest/?$", views.SuggestView.as_view(), name="suggest"),
    re_path(r"^register_url/?$", views.RegisterUrlView.as_view(), name="register-url"),
    re_path(r"^link_tile/?$", views.LinkTileView.as_view(), name="link-tile"),
]
