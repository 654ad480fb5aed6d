"""What an answer's error-status means for the poll, the same for every transport."""

from __future__ import annotations

from core.states import PollCause

# error-status 16 (RFC 3416): the agent's access control refused the request.
AUTHORIZATION_ERROR = 16


def cause_of_status(error_status: int) -> PollCause:
    """An answer with an error-status: access refused is an auth failure; any other
    status (tooBig, genErr, ...) is an answer the collector cannot use."""
    return PollCause.AUTH_FAILURE if error_status == AUTHORIZATION_ERROR else PollCause.MALFORMED
