"""Field work (issue 16): teams, work orders from incidents, and their verification by
telemetry (a fix is not closed on a technician's word alone)."""
