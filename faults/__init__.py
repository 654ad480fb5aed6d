"""The fault engine: AP state changes correlated into incidents, one per real problem."""
