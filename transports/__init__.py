"""The built-in notification transports: plugins of the entry-point group
``citywifi.transports`` (see :mod:`faults.delivery`).

Nothing in citywifi imports this package: the notifier finds a transport by the name a
route gives, so a third-party one (installed with its own entry point) is found the same
way as these. Each module holds one transport: :mod:`transports.webhook` (signed JSON
over HTTP) and :mod:`transports.email` (plain text over SMTP).
"""
