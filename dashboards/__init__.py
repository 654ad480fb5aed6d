"""Dashboards: the built-in web status page (``web/``) and, later, Grafana as code."""
