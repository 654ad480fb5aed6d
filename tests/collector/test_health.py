"""Up/down with a consecutive-failure threshold."""

from collector.health import ApHealth


def test_one_lost_poll_does_not_make_an_ap_down() -> None:
    h = ApHealth()
    assert h.observe(True, 10.0, threshold=2)
    assert (h.state, h.since, h.last_seen) == ("up", 10.0, 10.0)
    assert not h.observe(False, 20.0, threshold=2, error="timeout")
    assert h.state == "up" and h.failures == 1
    assert h.observe(False, 30.0, threshold=2, error="timeout")
    assert (h.state, h.since, h.last_seen, h.last_error) == ("down", 30.0, 10.0, "timeout")


def test_one_answer_brings_it_back() -> None:
    h = ApHealth(state="down", since=5.0, failures=9)
    assert h.observe(True, 40.0, threshold=3)
    assert (h.state, h.since, h.failures, h.last_error) == ("up", 40.0, 0, None)


def test_never_answering_ap_goes_from_unknown_to_down() -> None:
    h = ApHealth()
    assert not h.observe(False, 1.0, threshold=2)
    assert h.state == "unknown"
    assert h.observe(False, 2.0, threshold=2)
    assert h.state == "down"


def test_availability_is_answered_over_attempted() -> None:
    h = ApHealth()
    assert h.availability is None  # never polled: unknown, not 0 % or 100 %
    for ok in (True, True, False, True):
        h.observe(ok, 1.0, threshold=2)
    assert (h.attempted, h.answered, h.availability) == (4, 3, 0.75)
