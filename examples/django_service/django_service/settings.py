"""Settings of the example Django project (only what it needs)."""

from __future__ import annotations


SECRET_KEY = "example-only-not-secret"  # an example project, not a secret
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "django_service.urls"
WSGI_APPLICATION = "django_service.wsgi.application"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

MIDDLEWARE = [
    # First, so every record of the request (other middleware's too) carries
    # its request id, and the access record sees the final response.
    "safelog.django.SafelogMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# Django's own LOGGING stays as it is (or as you set it): configure() in
# wsgi.py runs after Django applied it, and takes Django's handlers over.
