"""Helpers shared by the tests (data files, users, API clients)."""

import base64
from pathlib import Path

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

HG_SMALL = [("chr1", 1000), ("chr2", 800), ("chrX", 500)]
PASSWORD = "pass-word-1"


def write_chromsizes(path, rows=HG_SMALL):
    path = Path(path)
    path.write_text("".join(f"{name}\t{size}\n" for name, size in rows))
    return path


def make_user(username, superuser=False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username, f"{username}@example.org", PASSWORD)
    return model.objects.create_user(username, f"{username}@example.org", PASSWORD)


def basic(user, password=PASSWORD):
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.credentials(**basic(user))
    return client


def uploads(media_root):
    return sorted(p.name for p in (Path(media_root) / "uploads").iterdir())
