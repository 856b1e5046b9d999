"""The API URL: which ones a token may be sent to, and paths as error messages name them."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from kxplan.errors import UsageError


def check_base_url(url: str) -> str:
    """`url` without a trailing slash, or UsageError when it is not safe for a token.

    Plain http is allowed only to a loopback host (the sandbox), so a token never crosses a
    network in clear text.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the API URL {url!r} is not an http(s) URL",
            hint="pass --api-url https://api.mavenlink.com/api/v1 (or set KANTATA_API_URL)",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the API token over plain http to {parts.hostname}",
            hint="use an https:// URL; plain http is allowed only for 127.0.0.1/localhost",
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    """True for localhost and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_path(path: str) -> str:
    """`path` with exactly one leading slash, as errors and the strict-path table name it."""
    return "/" + path.lstrip("/")
