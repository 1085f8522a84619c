from django.apps import AppConfig


class FragmentsConfig(AppConfig):
    name = "fragments"
    verbose_name = "Matrix fragments"
