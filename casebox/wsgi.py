"""WSGI entry point for gunicorn: ``gunicorn casebox.wsgi:app``."""

from casebox.app import create_app

app = create_app()
