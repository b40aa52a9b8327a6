"""Verified downloads: each URL in turn with retries, a content check, an atomic write.

`fetch_verified(urls, target, verify)` is the only way dlbook writes a downloaded file: the
payload is checked by `verify` before anything is written, then written to a temporary file
in the target's folder, fsynced and renamed over the target, so a reader never sees a partial
file. `_urlopen` is the only function here that touches the network, and `_sleep` the only
one that waits; tests replace both. Never imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import stat
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from dlbook import __version__

__all__: list[str] = []  # private to dlbook.data

T = TypeVar("T")

RETRIES = 3  # attempts per URL
BACKOFF_S = 1.0  # sleeps 1 s, 2 s between attempts
TIMEOUT_S = 30.0
_sleep = time.sleep


class DownloadError(Exception):
    """A file could not be fetched; the message is a short reason a caller can show."""


def _urlopen(url: str, timeout: float) -> bytes:
    """GET `url` and return the body. The only function here that touches the network."""
    request = urllib.request.Request(url, headers={"User-Agent": f"dlbook/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _fetch(url: str) -> bytes:
    body = _urlopen(url, TIMEOUT_S)
    if hasattr(body, "read"):  # a response object rather than bytes
        with contextlib.closing(body):
            body = body.read()
    return bytes(body)


def md5(content: bytes) -> str:
    """The hex MD5 of `content` (a checksum against corruption, not a security measure)."""
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def is_writable(folder: Path) -> bool:
    """Whether files may be created in `folder` (or in the ancestor it would be created in).

    A folder without any write permission bit counts as read-only even for root, who could
    otherwise write into a shared, deliberately read-only data folder.
    """
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return False
    any_write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return bool(probe.stat().st_mode & any_write) and os.access(probe, os.W_OK | os.X_OK)


def write_atomic(target: Path, payload: bytes) -> None:
    """Write to a temp file in the target's folder, fsync, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        # After a successful os.replace the temp name no longer exists.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # persist the rename; not possible on every platform
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def fetch_verified(urls: Sequence[str], target: Path, verify: Callable[[bytes, str], T]) -> T:
    """Download the first of `urls` that gives verified content, store it at `target`.

    Each URL gets up to RETRIES attempts, with exponential back-off. `verify(payload, url)`
    returns the decoded content or raises ValueError (a corrupt or wrong file: the next attempt
    may do better). A 4xx answer or a host name that does not resolve ends the attempts at
    that URL at once. The verified payload is written atomically to `target` (its folder is
    created) and verify's result returned; otherwise DownloadError says why, starting with
    "network unreachable" when no server answered at all.
    """
    failures: list[str] = []
    network_only = True
    for url in urls:
        for attempt in range(RETRIES):
            if attempt:
                _sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                payload = _fetch(url)
                result = verify(payload, url)
            except urllib.error.HTTPError as err:
                failures.append(f"{url}: HTTP {err.code}")
                network_only = False
                if 400 <= err.code < 500:
                    break  # the server says the file is not there; asking again will not help
            except urllib.error.URLError as err:
                failures.append(f"{url}: {err.reason}")
                if isinstance(err.reason, socket.gaierror):
                    break  # the host name does not resolve (offline): retrying will not help
            except (OSError, http.client.HTTPException) as err:
                failures.append(f"{url}: {type(err).__name__}: {err}")
            except ValueError as err:
                failures.append(str(err))
                network_only = False
            else:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(target, payload)
                except OSError as err:
                    raise DownloadError(f"cannot write to {target.parent}: {err}") from err
                return result
    last = failures[-1] if failures else "no URL to try"
    if network_only:
        raise DownloadError(f"network unreachable; last error: {last}")
    raise DownloadError(f"{len(failures)} attempts failed; last: {last}")
