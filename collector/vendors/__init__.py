"""Vendor profiles as data; loaded by name through collector.profiles, never imported."""
