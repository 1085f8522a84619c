from django.apps import AppConfig


class ChromsConfig(AppConfig):
    name = "chroms"
    verbose_name = "Chromosome sizes"
