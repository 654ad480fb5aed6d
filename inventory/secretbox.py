"""Device secrets sealed at rest: the one place they are encrypted and opened.

SNMP communities, v3 keys and SSH passwords are stored as ``sealed:v1:<Fernet token>``,
so a copy of the inventory database (a backup, a stolen laptop, a PostgreSQL dump) holds
no credential in clear. Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) is
authenticated: a wrong key is detected, never decrypted into garbage that would then be
sent to a device. The prefix says the value is sealed and how, so a later scheme can be
told apart and a clear value left behind by a bug is refused instead of used.

Keys come from the ``secret_key`` setting (comma-separated, newest first; never written
anywhere by citywifi) or else from a key file, one key per line, newest first, created
0600 with a new key the first time it is needed. Several keys exist only while rotating
(``citywifi secrets rotate-key``): new values are sealed with the newest, old ones still
open with any.

Messages never carry a secret nor a key: they name where the keys came from, which is
what the operator has to fix.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import ConfigError
from core.settings import Settings
from inventory.models import CitizenReport, CredentialProfile, Notification, UserHashKey

log = logging.getLogger(__name__)

SEALED_PREFIX = "sealed:v1:"
"""Stored value = this prefix + a Fernet token (url-safe base64, so plain ASCII)."""

SETTING_SOURCE = "the secret_key setting (CITYWIFI_SECRET_KEY)"


class SecretBox:
    """Seals and opens device secrets with a list of keys, newest first.

    ``source`` names where the keys came from (the key file's path, or the setting), for
    error messages: the one thing an operator facing "cannot open" needs to know.
    """

    __slots__ = ("_keys", "_multi", "_newest", "source")

    def __init__(self, keys: Sequence[str], source: str) -> None:
        cleaned = [key.strip() for key in keys if key.strip()]
        if not cleaned:
            raise ConfigError(f"no secret key in {source}")
        fernets: list[Fernet] = []
        for number, key in enumerate(cleaned, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # The key is not repeated, nor Fernet's message chained (it is harmless
                # today, but the traceback of --debug must never be the place it leaks).
                raise ConfigError(
                    f"key {number} in {source} is not a Fernet key (44 characters of "
                    "url-safe base64); `citywifi secrets rotate-key` makes key files"
                ) from None
        self._keys = tuple(cleaned)
        self._newest = fernets[0]
        self._multi = MultiFernet(fernets)
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source!r}, keys={len(self._keys)})"

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys, newest first (for rotation, which writes them back)."""
        return self._keys

    def seal(self, clear: str | None) -> str | None:
        """The value to store for ``clear`` (None stays None), with the newest key."""
        if clear is None:
            return None
        return SEALED_PREFIX + self._newest.encrypt(clear.encode("utf-8")).decode("ascii")

    def open(self, sealed: str | None) -> str | None:
        """The clear value of a stored one (None stays None). The only decryption in
        citywifi. ConfigError, naming the keys' source, when no key opens it or when it
        is not sealed at all (a clear value is never handed out as if it were fine)."""
        if sealed is None:
            return None
        if not self.is_sealed(sealed):
            raise ConfigError(
                "a device secret in the inventory is not sealed (stored in clear, or "
                "damaged): run `citywifi db upgrade`, or import its credential profile again"
            )
        try:
            clear = self._multi.decrypt(sealed[len(SEALED_PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise ConfigError(
                f"cannot open the device secrets in the inventory with the key(s) in "
                f"{self.source}: not the key they were sealed with (another installation's "
                "key file, or a key removed too early?)"
            ) from None
        return clear.decode("utf-8")

    @staticmethod
    def is_sealed(value: str | None) -> bool:
        return value is not None and value.startswith(SEALED_PREFIX)

    def reseal(self, sealed: str) -> str:
        """``sealed`` sealed again with the newest key (rotation); opened by :meth:`open`."""
        clear = self.open(sealed)
        assert clear is not None  # sealed is a str
        resealed = self.seal(clear)
        assert resealed is not None
        return resealed


def generate_key() -> str:
    """A new random key (Fernet: 32 bytes, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def load_box(settings: Settings) -> SecretBox:
    """The box every process that reads or writes device secrets uses.

    ``settings.secret_key`` wins (it is never written anywhere); else the key file at
    ``settings.secret_key_path``, created 0600 with a new key when missing.
    """
    if settings.secret_key is not None:
        return SecretBox(settings.secret_key.split(","), SETTING_SOURCE)
    path = settings.secret_key_path.resolve()  # messages name it whatever the cwd
    keys = read_key_file(path)
    if keys is None:
        keys = _create_key_file(path)
    return SecretBox(keys, str(path))


def read_key_file(path: Path) -> list[str] | None:
    """The keys in ``path``, newest first; None when there is no such file.

    Blank lines and ``#`` comments are skipped. A file others may read is used but
    warned about: its keys open every device secret of the inventory.
    """
    try:
        with open(path, encoding="ascii") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            text = handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError(f"key file {path} is not a citywifi key file (not ASCII)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        log.warning("key file %s can be read by others (mode %o): chmod 600 it", path, mode & 0o777)
    keys = [line.strip() for line in text.splitlines()]
    return [key for key in keys if key and not key.startswith("#")]


def write_key_file(path: Path, keys: Sequence[str], *, replace: bool = True) -> None:
    """Write ``keys`` (newest first) to ``path``, 0600 from its first byte, atomically.

    The keys go to a temporary file in the same directory (``O_CREAT | O_EXCL``, 0600),
    synced, then moved into place, so a crash leaves the old file or the new one, never a
    half-written one. ``replace=False`` never overwrites: when another process made the
    file first, FileExistsError (and its keys are the ones to use).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # atomic, and fails when the file exists
            os.unlink(temp)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(path.parent)


def _create_key_file(path: Path) -> list[str]:
    """A new key file with one new key; race-safe: of two processes starting at once,
    the second uses the first one's key rather than writing its own."""
    key = generate_key()
    try:
        write_key_file(path, [key], replace=False)
    except FileExistsError:
        found = read_key_file(path)
        if found is None:  # pragma: no cover - made, then removed, in between
            raise ConfigError(f"key file {path} vanished while being created") from None
        return found
    except OSError as exc:
        raise ConfigError(f"cannot create key file {path}: {exc.strerror or exc}") from None
    log.warning(
        "created key file %s (0600): it opens the device secrets of the inventory; back it "
        "up with the database, since without it they cannot be read",
        path,
    )
    return [key]


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a crash right after keeps it)."""
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sealed_columns() -> list[tuple[Any, tuple[str, ...], tuple[str, ...]]]:
    """Every sealed value at rest, as (table, its primary key, its sealed columns): the
    device secrets, the monthly keys that hash personal data, and citizens' report texts
    and phone numbers. One list, so a key rotation can miss none of them (a value left
    sealed with a dropped key could never be opened again)."""
    return [
        (CredentialProfile, ("id",), tuple(CredentialProfile.SECRET_COLUMNS)),
        (UserHashKey, ("month",), ("key",)),
        (CitizenReport, ("id",), ("text_sealed", "phone_sealed")),
    ]


def _sealed_in_payload(payload: str) -> dict[str, str]:
    """The top-level sealed values of an outbox payload (a citizen's number on its way)."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: v for k, v in parsed.items() if isinstance(v, str) and SecretBox.is_sealed(v)}


def open_rows(session: Session, box: SecretBox) -> int:
    """Check that ``box`` opens every sealed value stored (ConfigError naming its key
    source at the first that it does not); the number of values."""
    count = 0
    for table, _key, columns in _sealed_columns():
        for row in session.execute(select(*(getattr(table, c) for c in columns))):
            for stored in row:
                if stored is not None:
                    box.open(stored)
                    count += 1
    for (payload,) in session.execute(select(Notification.payload)):
        for stored in _sealed_in_payload(payload).values():
            box.open(stored)
            count += 1
    return count


def reseal_rows(session: Session, box: SecretBox) -> int:
    """Seal every stored sealed value again with ``box``'s newest key; the number of
    values resealed. The caller owns the transaction (rotation: all rows or none)."""
    count = 0
    for table, key, columns in _sealed_columns():
        query = select(*(getattr(table, c) for c in (*key, *columns)))
        for row in session.execute(query).all():
            values = {
                name: box.reseal(stored)
                for name, stored in zip(columns, row[len(key) :], strict=True)
                if stored is not None
            }
            if values:
                where = [getattr(table, k) == v for k, v in zip(key, row[: len(key)], strict=True)]
                session.execute(update(table).where(*where).values(**values))
                count += len(values)
    for notification_id, payload in session.execute(
        select(Notification.id, Notification.payload)
    ).all():
        sealed = _sealed_in_payload(payload)
        if sealed:
            resealed = {k: box.reseal(v) for k, v in sealed.items()}
            session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .values(payload=json.dumps({**json.loads(payload), **resealed}))
            )
            count += len(sealed)
    return count
