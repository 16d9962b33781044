"""Registration of the shell with an AAS Registry (Part 2 Registry Service, SSP-001, API 3.0).

In the background: a registry that is down or refuses is retried with backoff and never delays or stops
the agent or its API. The descriptor is posted once (PUT when the registry has it already, 409), then
put again whenever the shell it describes changes. Nothing is removed when the agent stops: a registry
keeps the descriptors of shells that are down, and this one comes back at the same address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import aiohttp

from ..config.aas_api import AasApiRegistry
from ..identity.certificate_files import CertificateFileError, certificates_in, der
from ..pacing import Backoff
from .descriptors import Descriptor
from .ids import encode_id

log = logging.getLogger(__name__)

RETRY_FIRST = 1.0
"""Seconds before the first retry; each further one waits twice as long, up to RETRY_CAP."""
RETRY_CAP = 600.0
_REASON_LENGTH = 300


class RegistryTlsError(RuntimeError):
    """The registry's trust anchors cannot be read; the message names the place."""


class RegistryRefusal(Exception):
    """The registry answered a request with an error status; the message is the one line to log."""


class Registrar:
    """Keeps the descriptor ``describe`` returns registered at the registry of ``config``."""

    def __init__(
        self, config: AasApiRegistry, describe: Callable[[], Descriptor | None], *, trusted: Path
    ) -> None:
        self.config = config
        self._describe = describe
        self._trusted = config.ca if config.ca is not None else trusted
        self._changed = asyncio.Event()
        self._registered: Descriptor | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._changed.set()
        self._task = asyncio.create_task(self._run(), name="aas registry")

    def changed(self) -> None:
        """The shell may have changed: register its descriptor again if it differs from the registered one."""
        self._changed.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            # Plain http:// is allowed to a loopback registry only, where TLS would protect nothing.
            tls: ssl.SSLContext | bool = (
                registry_tls_context(self._trusted) if self.config.url.startswith("https:") else True
            )
        except RegistryTlsError as exc:
            log.error("cannot register the shell with the AAS registry %s: %s", self.config.url, exc)
            return
        backoff = Backoff(RETRY_FIRST, RETRY_CAP)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=tls)) as session:
            while True:
                await self._changed.wait()
                self._changed.clear()
                descriptor = self._describe()
                if descriptor is None or descriptor == self._registered:
                    continue
                try:
                    outcome = await self._register(session, descriptor)
                except (RegistryRefusal, aiohttp.ClientError, TimeoutError) as exc:
                    delay = backoff.next_delay()
                    log.warning(
                        "AAS registry %s: the shell %s is not registered: %s; retrying in %.0fs",
                        self.config.url,
                        descriptor["id"],
                        _one_line(exc),
                        delay,
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), delay)
                    self._changed.set()
                    continue
                backoff.reset()
                self._registered = descriptor
                log.info("AAS registry %s: %s the shell %s", self.config.url, outcome, descriptor["id"])

    async def _register(self, session: aiohttp.ClientSession, descriptor: Descriptor) -> str:
        """POST the descriptor, or PUT it where the registry has one already; what was done, in words."""
        collection = f"{self.config.url}/shell-descriptors"
        one = f"{collection}/{encode_id(descriptor['id'])}"
        if self._registered is None:
            status = await _send(session, "POST", collection, descriptor, expected=(409,))
            if status != 409:
                return "registered"
            await _send(session, "PUT", one, descriptor, expected=())
            return "updated the registered descriptor of"
        # A registry that lost the descriptor (restarted without storage) answers 404: register anew.
        status = await _send(session, "PUT", one, descriptor, expected=(404,))
        if status == 404:
            await _send(session, "POST", collection, descriptor, expected=())
            return "registered again"
        return "updated the descriptor of"


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    descriptor: Descriptor,
    *,
    expected: tuple[int, ...],
) -> int:
    async with session.request(method, url, json=descriptor) as response:
        if response.status in expected or 200 <= response.status < 300:
            return response.status
        body = await response.text(errors="replace")
        raise RegistryRefusal(f"{method} answered {response.status} {response.reason}: {_result_text(body)}")


def _result_text(body: str) -> str:
    """The texts of a Part 2 Result's messages, else the body itself, shortened."""
    try:
        result = json.loads(body)
    except ValueError:
        result = None
    texts: list[str] = []
    if isinstance(result, dict) and isinstance(result.get("messages"), list):
        texts = [str(m["text"]) for m in result["messages"] if isinstance(m, dict) and m.get("text")]
    text = "; ".join(texts) if texts else (body.strip() or "no message")
    return text if len(text) <= _REASON_LENGTH else text[: _REASON_LENGTH - 3] + "..."


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, TimeoutError):
        text = "no answer in time"
    return " ".join(text.split())


def registry_tls_context(trusted: Path) -> ssl.SSLContext:
    """TLS 1.2 or newer; the registry's certificate checked against ``trusted`` and its host name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # As in the OPC UA trust list, whatever is there is trusted: an issuing CA, or the registry's own
    # certificate, need not chain further.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    anchors = _certificates(trusted)
    if not anchors:
        raise RegistryTlsError(f"no CA certificate in {trusted} to check the registry's certificate with")
    context.load_verify_locations(cadata=b"".join(anchors))
    return context


def _certificates(path: Path) -> list[bytes]:
    """The DER of each certificate in the file ``path``, or in the certificate files of the directory."""
    try:
        return [der(certificate) for certificate in certificates_in([path], "the registry's CA certificates")]
    except CertificateFileError as exc:
        raise RegistryTlsError(str(exc)) from None
