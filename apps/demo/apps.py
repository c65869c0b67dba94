from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo seeder (`manage.py seed_demo`, run by `make run`): the top floor, it writes a world
    through every app below it and nothing imports it."""

    name = "apps.demo"
    label = "demo"
