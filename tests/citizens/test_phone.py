"""A phone number in one spelling: what an operator types, what an import carries."""

from __future__ import annotations

import re

import pytest

from citizens.phone import MAX_DIGITS, MIN_DIGITS, PHONE_PATTERN, normalise_phone

ACCEPTED = [
    ("+62 812-3456-7890", "+6281234567890"),
    ("(0812) 3456 7890", "081234567890"),
    ("  0812.3456/7890 ", "081234567890"),
    ("+1 (555) 010-9999", "+15550109999"),
    ("1" * MIN_DIGITS, "1" * MIN_DIGITS),
    ("+" + "9" * MAX_DIGITS, "+" + "9" * MAX_DIGITS),
]


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_one_spelling(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


REFUSED = [
    ("12345", f"{MIN_DIGITS} to {MAX_DIGITS} digits"),
    ("+" + "1" * (MAX_DIGITS + 1), f"{MIN_DIGITS} to {MAX_DIGITS} digits"),
    ("0812 3456 789x", "only digits"),
    ("08123++456789", "only digits"),
    ("0812-3456-7890 ext 12", "only digits"),
    ("٠٨١٢٣٤٥٦٧٨٩", "only digits"),  # Arabic-Indic digits: str.isdigit says yes
    ("", f"{MIN_DIGITS} to {MAX_DIGITS} digits"),
    ("1" * 41, "at most 40 characters"),
]


@pytest.mark.parametrize(("typed", "says"), REFUSED)
def test_not_a_number_is_said_without_repeating_it(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        normalise_phone(typed)
    digits = "".join(c for c in typed if c.isdigit())
    assert len(digits) < MIN_DIGITS or digits not in str(caught.value)


def test_the_schema_pattern_says_the_same() -> None:
    """PHONE_PATTERN (the API schema's) accepts exactly what normalise_phone accepts."""
    for typed, _ in ACCEPTED:
        assert re.fullmatch(PHONE_PATTERN, typed), typed
    for typed, _ in REFUSED:
        assert len(typed) > 40 or not re.fullmatch(PHONE_PATTERN, typed), typed
