"""URLs of the example Django project."""

from __future__ import annotations

from django.urls import path

from . import views


urlpatterns = [
    path("items/<int:item_no>", views.read_item),
    path("items/<int:item_no>/notes", views.add_note),
    path("fail/<str:name>", views.fail),
]
