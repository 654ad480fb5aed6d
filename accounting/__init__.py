"""RADIUS accounting (RFC 2866) from the hotspots: the ``citywifi radius`` receiver.

Decodes and verifies Accounting-Requests (pyrad, with our own dictionary), matches each
NAS to its AP, and hands batches to ``inventory.sessions``, which keeps the sessions and
hashes every personal datum before it is stored.
"""
