"""Up/down with a consecutive-failure threshold; every change returned as a transition."""

from collector.health import ApHealth
from core.states import ApState, PollCause, Transition

ANSWERED, TIMEOUT = PollCause.ANSWERED, PollCause.TIMEOUT


def test_one_lost_poll_does_not_make_an_ap_down() -> None:
    h = ApHealth("ap1")
    assert h.observe(True, 10.0, threshold=2, cause=ANSWERED) == Transition(
        "ap1", ApState.UNKNOWN, ApState.UP, 10.0, ANSWERED
    )
    assert (h.state, h.since, h.last_seen) == (ApState.UP, 10.0, 10.0)
    assert h.observe(False, 20.0, threshold=2, cause=TIMEOUT, error="no answer") is None
    assert h.state is ApState.UP and h.failures == 1
    assert h.observe(False, 30.0, threshold=2, cause=TIMEOUT, error="no answer") == Transition(
        "ap1", ApState.UP, ApState.DOWN, 30.0, TIMEOUT, "no answer"
    )
    assert (h.state, h.since, h.last_seen, h.last_error, h.last_cause) == (
        ApState.DOWN,
        30.0,
        10.0,
        "no answer",
        TIMEOUT,
    )


def test_one_answer_brings_it_back() -> None:
    h = ApHealth("ap1", state=ApState.DOWN, since=5.0, failures=9, last_error="x")
    change = h.observe(True, 40.0, threshold=3, cause=ANSWERED)
    assert change is not None and (change.from_state, change.to_state) == (
        ApState.DOWN,
        ApState.UP,
    )
    assert change.detail is None
    assert (h.state, h.since, h.failures, h.last_error) == (ApState.UP, 40.0, 0, None)


def test_never_answering_ap_goes_from_unknown_to_down() -> None:
    h = ApHealth("ap1")
    assert h.observe(False, 1.0, threshold=2, cause=PollCause.REFUSED) is None
    assert h.state is ApState.UNKNOWN
    change = h.observe(False, 2.0, threshold=2, cause=PollCause.AUTH_FAILURE, error="report")
    assert change == Transition(
        "ap1", ApState.UNKNOWN, ApState.DOWN, 2.0, PollCause.AUTH_FAILURE, "report"
    )


def test_staying_in_a_state_makes_no_transition() -> None:
    h = ApHealth("ap1")
    changes = [h.observe(True, float(t), threshold=1, cause=ANSWERED) for t in range(5)]
    assert [c is not None for c in changes] == [True, False, False, False, False]
    assert h.since == 0.0 and h.last_poll == 4.0


def test_a_degraded_answer_keeps_the_ap_up_and_says_so_until_a_clean_one() -> None:
    h = ApHealth("ap1")
    h.observe(True, 1.0, threshold=2, cause=ANSWERED)
    said = "degraded: answered, but 2 values had the wrong type and were left out"
    assert h.observe(True, 2.0, threshold=2, cause=ANSWERED, error=said) is None
    assert (h.state, h.failures, h.last_error, h.last_cause) == (ApState.UP, 0, said, ANSWERED)
    h.observe(True, 3.0, threshold=2, cause=ANSWERED)
    assert h.last_error is None
