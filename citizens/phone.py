"""A citizen's phone number, in one spelling.

A call-centre operator types "+62 812-3456-7890", an import carries "(0812) 3456 7890":
stored as the digits with an optional leading ``+``, so the engineer who calls back reads
one form, and a test can register the one form a number may leak in. No country rules:
the city's numbers are whatever its citizens give; only the shape is checked (E.164
allows at most 15 digits; 16 leaves room for a local prefix, 6 for the shortest local
numbers). The value is never repeated in an error: it is personal data.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DIGITS", "MAX_PHONE_TEXT", "MIN_DIGITS", "PHONE_PATTERN", "normalise_phone"]

MIN_DIGITS = 6
MAX_DIGITS = 16
#: The longest text accepted before it is read at all (spaces, dashes, brackets included).
MAX_PHONE_TEXT = 40

# What people put between digits: spaces, dashes, dots, slashes and brackets.
_SEPARATORS = re.compile(r"[\s\-./()]+")
_DIGITS = re.compile(r"[0-9]*")  # ASCII only: str.isdigit would take other scripts' digits
_SEP = r"[\s\-./()]"
#: What :func:`normalise_phone` accepts, as one regular expression (for an API schema).
PHONE_PATTERN = rf"^{_SEP}*\+?{_SEP}*(?:[0-9]{_SEP}*){{{MIN_DIGITS},{MAX_DIGITS}}}$"


def normalise_phone(text: str) -> str:
    """``text`` as ``+<digits>`` or ``<digits>``; ValueError (a plain message that does
    not repeat the number) when it is not a phone number."""
    if len(text) > MAX_PHONE_TEXT:
        raise ValueError(f"a phone number is at most {MAX_PHONE_TEXT} characters")
    compact = _SEPARATORS.sub("", text.strip())
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not _DIGITS.fullmatch(digits):
        raise ValueError("a phone number holds only digits, spaces, - . / ( ) and a leading +")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise ValueError(f"a phone number has {MIN_DIGITS} to {MAX_DIGITS} digits")
    return f"+{digits}" if plus else digits
