"""One module per vendor: its SNMP ``PROFILE`` and SSH ``SSH_PROFILE``, as data; listed in
collector.profiles.VENDOR_MODULES and loaded by name, never imported by the core."""
