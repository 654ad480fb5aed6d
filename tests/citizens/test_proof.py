"""The public page's proof of work: challenges any replica can check, that expire, cannot
be forged, need the stated zero bits, and are good for one report each."""

from __future__ import annotations

import hashlib

import pytest

from citizens import proof
from inventory.secretbox import SecretBox, generate_key

NOW = 1_767_225_600.0
KEY = b"k" * 32
BITS = 8  # ~256 hashes: quick in a test


def test_a_solved_challenge_verifies() -> None:
    challenge = proof.issue(KEY, NOW, BITS)
    assert challenge.bits == BITS and challenge.expires_at == NOW + proof.CHALLENGE_TTL_S
    expires, random, mac = challenge.token.split(".")
    assert int(expires) == challenge.expires_at and len(random) >= 16 and len(mac) == 32
    nonce = proof.solve(challenge.token, BITS)
    digest = hashlib.sha256(f"{challenge.token}:{nonce}".encode()).digest()
    assert proof.leading_zero_bits(digest) >= BITS
    proof.verify(KEY, challenge.token, nonce, NOW + 1, BITS)


def test_challenges_differ_each_time() -> None:
    assert proof.issue(KEY, NOW, BITS).token != proof.issue(KEY, NOW, BITS).token


def test_leading_zero_bits() -> None:
    assert proof.leading_zero_bits(b"\x00\x00\xff") == 16
    assert proof.leading_zero_bits(b"\x01") == 7
    assert proof.leading_zero_bits(b"\x80") == 0
    assert proof.leading_zero_bits(b"\x00\x00") == 16


def test_an_expired_challenge_is_refused() -> None:
    challenge = proof.issue(KEY, NOW, BITS)
    nonce = proof.solve(challenge.token, BITS)
    proof.verify(KEY, challenge.token, nonce, challenge.expires_at, BITS)  # the last second
    with pytest.raises(ValueError, match=r"^the challenge has expired: ask for a new one$"):
        proof.verify(KEY, challenge.token, nonce, challenge.expires_at + 0.5, BITS)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.replace(t.split(".")[0], str(int(t.split(".")[0]) + 3600), 1),  # later expiry
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # another MAC
        lambda t: t.rsplit(".", 1)[0],  # no MAC
        lambda t: "x" + t,  # not a number
        lambda t: t + "." + t,  # too many parts
        lambda t: "",
        lambda t: "9" * 500,
        lambda t: t.replace(".", "。", 1),  # not ASCII
    ],
    ids=["expiry", "mac", "no-mac", "nan", "parts", "empty", "long", "unicode"],
)
def test_a_forged_challenge_is_refused(forge: object) -> None:
    token = proof.issue(KEY, NOW, BITS).token
    forged = forge(token)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"^the challenge is not one this server issued$"):
        proof.verify(KEY, forged, "0", NOW, 0)


def test_another_key_did_not_issue_it() -> None:
    challenge = proof.issue(KEY, NOW, BITS)
    nonce = proof.solve(challenge.token, BITS)
    with pytest.raises(ValueError, match="not one this server issued"):
        proof.verify(b"o" * 32, challenge.token, nonce, NOW, BITS)


def test_too_few_zero_bits_is_refused() -> None:
    challenge = proof.issue(KEY, NOW, BITS)
    # A nonce good for 0 bits but not for BITS: the first one that fails BITS.
    nonce = next(
        str(n)
        for n in range(10_000)
        if proof.leading_zero_bits(hashlib.sha256(f"{challenge.token}:{n}".encode()).digest())
        < BITS
    )
    proof.verify(KEY, challenge.token, nonce, NOW, 0)
    with pytest.raises(ValueError, match=f"^the proof of work does not hold: {BITS} leading"):
        proof.verify(KEY, challenge.token, nonce, NOW, BITS)


@pytest.mark.parametrize("nonce", ["", "x" * (proof.MAX_NONCE_LENGTH + 1), "1\n2", "é"])
def test_a_malformed_nonce_is_refused(nonce: str) -> None:
    token = proof.issue(KEY, NOW, 0).token
    with pytest.raises(ValueError, match=r"^the nonce must be 1 to 64 printable ASCII"):
        proof.verify(KEY, token, nonce, NOW, 0)


def test_the_key_is_the_same_for_the_same_box_and_changes_with_rotation() -> None:
    old, new = generate_key(), generate_key()
    one = proof.pow_key(SecretBox([old], "test"))
    assert one == proof.pow_key(SecretBox([old], "another replica"))
    assert len(one) == 32 and old.encode() not in one
    rotated = proof.pow_key(SecretBox([new, old], "test"))
    assert rotated != one


def test_a_challenge_is_spent_once() -> None:
    spent = proof.SpentTokens()
    token = proof.issue(KEY, NOW, BITS).token
    spent.spend(token, NOW)
    with pytest.raises(ValueError, match=r"^this challenge was used already"):
        spent.spend(token, NOW + 10)
    spent.spend(proof.issue(KEY, NOW, BITS).token, NOW)
    assert len(spent) == 2


def test_spent_tokens_are_forgotten_once_expired_and_bounded() -> None:
    spent = proof.SpentTokens(max_held=4)
    tokens = [proof.issue(KEY, NOW, 0).token for _ in range(4)]
    for token in tokens:
        spent.spend(token, NOW)
    later = NOW + proof.CHALLENGE_TTL_S + 1
    spent.spend(proof.issue(KEY, later, 0).token, later)  # full: prunes the expired first
    assert len(spent) == 1
    fresh = [proof.issue(KEY, later, 0).token for _ in range(6)]
    for token in fresh:
        spent.spend(token, later)
    assert len(spent) == 4  # the backstop: never more than max_held


def test_solve_gives_up_after_its_tries() -> None:
    with pytest.raises(ValueError, match=r"^no nonce found in 3 tries$"):
        proof.solve("t", 200, max_tries=3)
