"""Loopback only: refuse, in this process, every network connection that would leave the machine.

The test suite, the benchmarks and the processes they start may talk to 127.0.0.0/8, ::1 and
``localhost`` only (the embedded AWS, the local runtime, slapd, the fake providers...). ``install()``
patches the ``socket`` module so that:

- name resolution (``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``) of anything but a
  loopback address or ``localhost`` is refused *before* a DNS query is sent; ``localhost`` is
  resolved and its answers must be loopback too;
- ``connect``, ``connect_ex`` and ``sendto`` of an IPv4/IPv6 socket to anything but a loopback
  address are refused (Unix sockets and other families pass).

A refusal raises :class:`NonLoopbackConnectionError`, a ``RuntimeError`` (not an ``OSError``: retry
loops such as botocore's, and ``except OSError`` fallbacks, must not turn it into a slow, quiet
failure), writes a line with :data:`MARKER` and :data:`REFUSED` to stderr and is kept in :func:`refusals`, so
a caller that swallows the exception is still caught by whoever checks afterwards.

Fresh interpreters opt in with ``AGENTS_MEETINGS_LOOPBACK_ONLY=1`` and
:func:`install_from_environment` (``python -m infra.local`` calls it first thing).

Only the standard library is used, so that a bare interpreter can load this file by path
(bench/cold_start.py does). Not covered: C code that opens sockets itself (libcurl, a node or slapd
process) and ``gethostbyaddr`` (reverse look-ups of the machine's own name come from /etc/hosts).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

ENV_VAR = "AGENTS_MEETINGS_LOOPBACK_ONLY"
MARKER = "loopback-guard"
REFUSED = " refused: only loopback"  # in every refusal line on stderr (and no other)
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})

_IPV6_LOOPBACK = socket.inet_pton(socket.AF_INET6, "::1")
_IPV6_UNSPECIFIED = bytes(16)
_IPV4_MAPPED_PREFIX = bytes(10) + b"\xff\xff"
_INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)

_lock = threading.Lock()
_refusals: list[str] = []
_originals: dict[str, Any] = {}
_SOCKET_METHODS = ("connect", "connect_ex", "sendto")
_inherited: set[str] = set()  # methods socket.socket inherits (not in its own __dict__) before install


class NonLoopbackConnectionError(RuntimeError):
    """This process tried to reach something other than loopback, where only loopback is allowed."""


def is_loopback_address(host: Any) -> bool:
    """A literal IPv4/IPv6 loopback (or unspecified, i.e. this machine) address, or ``localhost``."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return False
    text = host.strip().lower()
    if text in LOOPBACK_NAMES:
        return True
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 scope (fe80::1%eth0) is not part of the address
    try:
        packed = socket.inet_pton(socket.AF_INET, text)
    except OSError:
        pass
    else:
        return packed[0] == 127 or packed == bytes(4)
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        return False
    return packed in (_IPV6_LOOPBACK, _IPV6_UNSPECIFIED) or (
        packed.startswith(_IPV4_MAPPED_PREFIX) and packed[12] == 127
    )


def refusals() -> list[str]:
    """Every refusal since the guard was installed (or last taken), oldest first."""
    with _lock:
        return list(_refusals)


def take_refusals() -> list[str]:
    """The refusals so far, forgotten: a test that provokes one on purpose takes it."""
    with _lock:
        taken = list(_refusals)
        _refusals.clear()
    return taken


def installed() -> bool:
    return bool(_originals)


def _refuse(what: str, host: Any, port: Any = None) -> NonLoopbackConnectionError:
    target = f"{host}:{port}" if port not in (None, 0, "") else f"{host}"
    message = (
        f"{what} to {target} refused: only loopback (127.0.0.0/8, ::1, localhost) may be reached here; "
        "point the client at the embedded AWS or a local fake server"
    )
    with _lock:
        _refusals.append(message)
    try:
        sys.stderr.write(f"{MARKER}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed at interpreter exit
        pass
    return NonLoopbackConnectionError(message)


def _inet_target(sock: socket.socket, address: Any) -> tuple[Any, Any] | None:
    """(host, port) of an IPv4/IPv6 destination, None for other families (Unix sockets...)."""
    if sock.family not in _INET_FAMILIES:
        return None
    if isinstance(address, tuple) and address:
        return address[0], address[1] if len(address) > 1 else None
    return address, None


def install() -> None:
    """Install the guard in this process (idempotent)."""
    with _lock:
        if _originals:
            return
        _originals.update(
            getaddrinfo=socket.getaddrinfo,
            gethostbyname=socket.gethostbyname,
            gethostbyname_ex=socket.gethostbyname_ex,
            connect=socket.socket.connect,
            connect_ex=socket.socket.connect_ex,
            sendto=socket.socket.sendto,
        )
        _inherited.clear()
        _inherited.update(name for name in _SOCKET_METHODS if name not in vars(socket.socket))
    real_getaddrinfo: Callable[..., Any] = _originals["getaddrinfo"]
    real_gethostbyname: Callable[..., Any] = _originals["gethostbyname"]
    real_gethostbyname_ex: Callable[..., Any] = _originals["gethostbyname_ex"]
    real_connect: Callable[..., Any] = _originals["connect"]
    real_connect_ex: Callable[..., Any] = _originals["connect_ex"]
    real_sendto: Callable[..., Any] = _originals["sendto"]

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and host not in ("", b"") and not is_loopback_address(host):
            raise _refuse("name resolution", host, port)
        answers = real_getaddrinfo(host, port, *args, **kwargs)
        for *_, sockaddr in answers:
            if isinstance(sockaddr, tuple) and sockaddr and not is_loopback_address(sockaddr[0]):
                raise _refuse(f"name resolution ({host!r} answered {sockaddr[0]})", host, port)
        return answers

    def guarded_gethostbyname(host: Any) -> Any:
        if not is_loopback_address(host):
            raise _refuse("name resolution", host)
        address = real_gethostbyname(host)
        if not is_loopback_address(address):
            raise _refuse(f"name resolution ({host!r} answered {address})", host)
        return address

    def guarded_gethostbyname_ex(host: Any) -> Any:
        if not is_loopback_address(host):
            raise _refuse("name resolution", host)
        answer = real_gethostbyname_ex(host)
        if not all(is_loopback_address(address) for address in answer[2]):
            raise _refuse(f"name resolution ({host!r} answered {answer[2]})", host)
        return answer

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        target = _inet_target(self, address)
        if target is not None and not is_loopback_address(target[0]):
            raise _refuse("connection", *target)
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        target = _inet_target(self, address)
        if target is not None and not is_loopback_address(target[0]):
            raise _refuse("connection", *target)
        return real_connect_ex(self, address)

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        # sendto(data, address) or sendto(data, flags, address)
        target = _inet_target(self, args[-1]) if args else None
        if target is not None and not is_loopback_address(target[0]):
            raise _refuse("datagram", *target)
        return real_sendto(self, data, *args)

    socket.getaddrinfo = guarded_getaddrinfo
    socket.gethostbyname = guarded_gethostbyname
    socket.gethostbyname_ex = guarded_gethostbyname_ex
    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = guarded_sendto  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Restore the socket module as it was before :func:`install`."""
    with _lock:
        originals = dict(_originals)
        _originals.clear()
    if not originals:
        return
    socket.getaddrinfo = originals["getaddrinfo"]
    socket.gethostbyname = originals["gethostbyname"]
    socket.gethostbyname_ex = originals["gethostbyname_ex"]
    for name in _SOCKET_METHODS:
        if name in _inherited:
            delattr(socket.socket, name)  # back to _socket.socket's own method
        else:
            setattr(socket.socket, name, originals[name])


def requested(environ: Any = None) -> bool:
    """Whether ``AGENTS_MEETINGS_LOOPBACK_ONLY`` asks for the guard."""
    value = (environ if environ is not None else os.environ).get(ENV_VAR, "")
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def install_from_environment() -> bool:
    """Install the guard if ``AGENTS_MEETINGS_LOOPBACK_ONLY`` is set; say so on stderr. True if on."""
    if not requested():
        return False
    install()
    try:
        sys.stderr.write(f"{MARKER} on: pid {os.getpid()} may reach loopback only\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return True
