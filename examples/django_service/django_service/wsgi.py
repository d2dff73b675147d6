"""
WSGI entry point of the example Django project: ``configure()`` goes here.

After ``get_wsgi_application()``: Django has read its settings and applied
``settings.LOGGING`` by then, so ``configure()`` finds Django's handlers and
routes them through safelog's chain (one ``stdlib_handlers_taken_over``
record names them). ``manage.py runserver`` and gunicorn both load this
module. For ASGI, the same two lines go in ``asgi.py`` after
``get_asgi_application()``.
"""

from __future__ import annotations

import os

from pathlib import Path

from django.core.wsgi import get_wsgi_application

import safelog


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_service.settings")

application = get_wsgi_application()
# The policy lives in the project's pyproject.toml, beside manage.py.
safelog.configure(pyproject=Path(__file__).resolve().parent.parent / "pyproject.toml")
