"""The secret box: sealing, opening, its keys from the setting or the key file."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings
from inventory.secretbox import (
    SEALED_PREFIX,
    SETTING_SOURCE,
    SecretBox,
    generate_key,
    load_box,
    read_key_file,
    write_key_file,
)

SECRET = "c0mmunity-Sealed-7"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose keys come from the key file in ``tmp_path`` (not the environment)."""
    monkeypatch.delenv("CITYWIFI_SECRET_KEY", raising=False)
    monkeypatch.delenv("CITYWIFI_SECRET_KEY_FILE", raising=False)
    return Settings(data_dir=tmp_path)


def test_seal_then_open_gives_the_secret_back(secret_box: SecretBox) -> None:
    sealed = secret_box.seal(SECRET)
    assert sealed is not None and sealed.startswith(SEALED_PREFIX)
    assert SECRET not in sealed
    assert secret_box.open(sealed) == SECRET
    assert secret_box.seal(None) is None and secret_box.open(None) is None
    # Randomised: equal secrets are not equal stored values (no dictionary attack).
    assert secret_box.seal(SECRET) != sealed
    assert SecretBox.is_sealed(sealed) and not SecretBox.is_sealed(SECRET)
    assert not SecretBox.is_sealed(None)


def test_a_clear_value_is_refused_not_returned(secret_box: SecretBox) -> None:
    with pytest.raises(ConfigError) as refused:
        secret_box.open(SECRET)
    assert SECRET not in str(refused.value)
    assert "not sealed" in str(refused.value) and "\n" not in str(refused.value)


def test_a_wrong_key_is_one_line_naming_the_key_source(secret_box: SecretBox) -> None:
    sealed = secret_box.seal(SECRET)
    other = SecretBox([generate_key()], "/srv/citywifi/secret.key")
    with pytest.raises(ConfigError) as refused:
        other.open(sealed)
    message = str(refused.value)
    assert "/srv/citywifi/secret.key" in message and "\n" not in message
    assert SECRET not in message and sealed is not None and sealed not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_a_damaged_value_is_refused(secret_box: SecretBox) -> None:
    sealed = secret_box.seal(SECRET)
    assert sealed is not None
    for damaged in (sealed[:-4] + "AAAA", SEALED_PREFIX + "not base64 at all", SEALED_PREFIX):
        with pytest.raises(ConfigError, match="cannot open the device secrets"):
            secret_box.open(damaged)


def test_keys_never_show(secret_box: SecretBox) -> None:
    key = generate_key()
    box = SecretBox([key], "somewhere")
    assert key not in repr(box) and key not in str(box)
    assert repr(box) == "SecretBox(source='somewhere', keys=1)"


def test_a_bad_key_is_named_by_its_place_not_its_value() -> None:
    good, bad = generate_key(), "not-a-fernet-key-but-a-Secret"
    with pytest.raises(ConfigError) as refused:
        SecretBox([good, bad], "/etc/citywifi/secret.key")
    message = str(refused.value)
    assert message.startswith("key 2 in /etc/citywifi/secret.key is not a Fernet key")
    assert bad not in message and good not in message
    with pytest.raises(ConfigError, match="no secret key in the-source"):
        SecretBox(["", "  "], "the-source")


def test_reseal_moves_a_value_to_the_newest_key(secret_box: SecretBox) -> None:
    old = secret_box.seal(SECRET)
    assert old is not None
    new_key = generate_key()
    both = SecretBox([new_key, *secret_box.keys], "rotating")
    resealed = both.reseal(old)
    assert SecretBox([new_key], "new only").open(resealed) == SECRET
    with pytest.raises(ConfigError):
        secret_box.open(resealed)


def test_the_setting_wins_and_is_never_written(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest, older = generate_key(), generate_key()
    monkeypatch.setenv("CITYWIFI_SECRET_KEY", f"{newest}, {older}")
    from_setting = load_box(Settings(data_dir=settings.data_dir))
    assert from_setting.keys == (newest, older)
    assert from_setting.source == SETTING_SOURCE
    assert not settings.secret_key_path.exists()
    sealed_by_older = SecretBox([older], "x").seal(SECRET)
    assert from_setting.open(sealed_by_older) == SECRET


def test_the_key_file_is_made_0600_once_and_then_reused(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = settings.secret_key_path
    assert not path.exists()
    with caplog.at_level(logging.WARNING):
        first = load_box(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"created key file {path}" in caplog.text
    lines = path.read_text().splitlines()
    assert lines == list(first.keys) and len(lines) == 1
    assert first.source == str(path)
    second = load_box(settings)
    assert second.keys == first.keys
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_processes_starting_at_once_agree_on_one_key(settings: Settings) -> None:
    """The file is made under its name at once, complete (link of a finished temporary
    file): a racer either makes it or reads the winner's whole key, never a torn one."""
    barrier = threading.Barrier(8)
    keys: list[tuple[str, ...]] = []

    def start() -> None:
        barrier.wait()
        keys.append(load_box(settings).keys)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert read_key_file(settings.secret_key_path) == list(keys[0])


def test_key_file_format_newest_first_comments_and_blanks(tmp_path: Path) -> None:
    newest, older = generate_key(), generate_key()
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-01-01\n\n{newest}\n  {older}  \n")
    assert read_key_file(path) == [newest, older]
    assert read_key_file(tmp_path / "absent") is None


def test_an_empty_key_file_is_one_line_naming_it(settings: Settings) -> None:
    path = settings.secret_key_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n# nothing here\n")
    with pytest.raises(ConfigError, match=f"^no secret key in {path}$"):
        load_box(settings)


def test_a_key_file_others_can_read_is_warned_about(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = settings.secret_key_path
    write_key_file(path, [generate_key()])
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        load_box(settings)
    assert f"key file {path} can be read by others" in caplog.text


def test_writing_the_key_file_replaces_it_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.key"
    old = [generate_key()]
    write_key_file(path, old)

    def crash(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_key_file(path, [generate_key(), *old])
    assert read_key_file(path) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]
    monkeypatch.undo()
    with pytest.raises(FileExistsError):
        write_key_file(path, [generate_key()], replace=False)
    assert read_key_file(path) == old
