"""WSGI entry point (``gunicorn higlass_server.wsgi``)."""
import os

from django.core.wsgi import get_wsgi_application

from higlass_server.memory import keep_freed_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "higlass_server.settings")
keep_freed_memory()
application = get_wsgi_application()
