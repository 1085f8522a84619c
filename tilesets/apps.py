from django.apps import AppConfig


class TilesetsConfig(AppConfig):
    name = "tilesets"
    verbose_name = "Tilesets"

    def ready(self):
        from . import remote

        remote.configure()
