"""Routes under /api/v1/htsget/ (filled in by the htsget views)."""

urlpatterns = []
