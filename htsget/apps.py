from django.apps import AppConfig


class HtsgetConfig(AppConfig):
    name = "htsget"
    verbose_name = "GA4GH htsget"
