from django.apps import AppConfig


class TilesetsConfig(AppConfig):
    name = "tilesets"
    verbose_name = "Tilesets"
