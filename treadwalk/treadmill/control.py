"""The FTMS control point, as a protocol: one request at a time, its answer, and what to do
when a machine bends the rules (per-model leniency, REFERENCE.md part 2).

- ``exchange``: one write and its indication, under the quirks' minimum write interval; a
  machine that leaves requests unanswered (KingSmith, P7) gets a short wait, then the effect is
  confirmed from its data (``confirmation``) instead of an answer.
- ``command``: Request Control first when we do not hold it (or before every write for machines
  that need it), our status echoes announced to the tracker, "control not permitted" answered by
  asking once more, any other refusal raised as ``CommandRejected`` with the FTMS result code.

The link is the shell's (``FtmsTreadmill``): it hands over the connected client and a way to wait
for the next notification. Imports: bleak, treadwalk.ftms, treadwalk.core, treadwalk.treadmill.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError, BleakGATTProtocolError

from treadwalk import ftms
from treadwalk.core.errors import CommandRejected, ConnectionLost, Timeout, TreadmillError

from .quirks import Quirks
from .tracker import ECHO_S, MachineTracker

__all__ = ["ControlPoint", "confirmation", "result_name"]

log = logging.getLogger(__name__)

# How long a target's effect is looked for in the data when the machine does not answer.
_CONFIRM_S = 3.0


def result_name(result: int) -> str:
    try:
        return ftms.ResultCode(result).name.lower().replace("_", " ")
    except ValueError:
        return f"result 0x{result:02x}"


def confirmation(
    reported_target: Callable[[], float | None],
    actual: Callable[[], float | None],
    target: float,
    *,
    near: float,
    moved: float,
) -> Callable[[], bool]:
    """For a machine that does not answer: the target was taken when the machine reports it as
    its target, or the belt (or incline motor) has reached it or is clearly moving toward it —
    belts and motors take seconds to get there."""
    start = actual()

    def confirmed() -> bool:
        t = reported_target()
        if t is not None and abs(t - target) < near:
            return True
        now = actual()
        if now is None:
            return False
        if abs(now - target) < near:
            return True
        if start is None:
            return False
        return (target - start) * (now - start) > 0 and abs(now - start) >= min(
            moved, abs(target - start) / 2
        )

    return confirmed


class ControlPoint:
    """The control point of one machine, across reconnects (``attach`` after each setup)."""

    def __init__(
        self,
        tracker: MachineTracker,
        *,
        link: Callable[[], Awaitable[BleakClient]],
        wait_update: Callable[[], Awaitable[None]],
        log_raw: Callable[[str, str, bytes], None],
    ) -> None:
        self._tracker = tracker
        self._link = link
        self._wait_update = wait_update
        self._log_raw = log_raw
        self.char: BleakGATTCharacteristic | None = None
        self.with_response = True
        self.lock = asyncio.Lock()  # one request at a time, and its answer
        self.has_control = False
        self._pending: tuple[int, asyncio.Future[ftms.ControlResponse]] | None = None
        self._last_write = float("-inf")
        self._unanswered = 0  # requests in a row that got no answer

    @property
    def quirks(self) -> Quirks:
        return self._tracker.quirks

    def attach(self, char: BleakGATTCharacteristic | None) -> None:
        self.char = char
        if char is not None:
            self.with_response = "write" in char.properties

    def link_lost(self) -> None:
        """The link dropped: control is gone, and a request waiting for its answer fails."""
        self.has_control = False
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].set_exception(ConnectionLost("The link dropped while waiting for an answer."))

    def on_indication(self, raw: bytes) -> None:
        """A control-point indication (or notification). Raises ``DecodeError``."""
        response = ftms.decode_control_response(raw)
        pending = self._pending
        if pending is not None and pending[0] == response.request_op and not pending[1].done():
            pending[1].set_result(response)

    async def _write(self, client: BleakClient, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last_write + self.quirks.min_write_interval_s - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        assert self.char is not None
        self._log_raw(ftms.CONTROL_POINT_UUID, "write", payload)
        self._last_write = loop.time()
        await client.write_gatt_char(self.char, payload, response=self.with_response)

    async def exchange(
        self, payload: bytes, what: str, confirm: Callable[[], bool] | None = None
    ) -> ftms.ControlResponse | None:
        """One control-point write and its answer. Returns None when confirmed from data instead."""
        client = await self._link()
        if self.char is None:
            raise CommandRejected(
                f"The treadmill has no control point, so it cannot {what}; control it with its own buttons.",
                op=payload[0],
                result=ftms.ResultCode.NOT_SUPPORTED,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ftms.ControlResponse] = loop.create_future()
        self._pending = (payload[0], future)
        try:
            try:
                await self._write(client, payload)
            except BleakGATTProtocolError as exc:
                raise CommandRejected(
                    f"The treadmill refused to {what} (ATT error {exc}); try again, or use its own buttons.",
                    op=payload[0],
                    result=0,
                ) from exc
            except (BleakError, EOFError, OSError) as exc:
                raise ConnectionLost(f"The link dropped while asking the treadmill to {what}.") from exc
            # A machine that has left two requests unanswered (KingSmith: P7) gets a short wait:
            # its answers come as data, and the walker should not wait seconds for every change.
            wait_s = (
                self.quirks.response_timeout_s
                if self._unanswered < 2
                else min(0.5, self.quirks.response_timeout_s)
            )
            try:
                async with asyncio.timeout(wait_s):
                    response = await asyncio.shield(future)
                self._unanswered = 0
                return response
            except TimeoutError:
                self._unanswered += 1
            # No answer (some machines never answer): confirm the effect from data or status.
            if confirm is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_CONFIRM_S):
                        while not confirm():
                            await self._wait_update()
                        log.info("no answer to %s; confirmed from the machine's data", what)
                        return None
            raise Timeout(
                f"The treadmill did not answer when asked to {what}; check it shows no error, "
                "and use its own buttons if the belt does not do what you expect."
            )
        finally:
            self._pending = None
            if not future.done():
                future.cancel()

    async def request_control_locked(self, *, lenient: bool = False) -> None:
        """Request Control (the caller holds ``lock``). ``lenient``: an 'operation failed' answer
        is not a refusal — KingSmith answers its first Request Control so and then obeys
        (REFERENCE.md P7); the command that follows is confirmed from data, and a real refusal
        shows there as 'control not permitted'."""
        response = await self.exchange(ftms.request_control(), "give control", confirm=None)
        if lenient and response is not None and response.result == ftms.ResultCode.OPERATION_FAILED:
            log.info("Request Control answered 'operation failed'; going on, confirming from data")
            self.has_control = True
            return
        if response is not None and response.result != ftms.ResultCode.SUCCESS:
            raise CommandRejected(
                f"The treadmill refused control ('{result_name(response.result)}'); close other apps "
                "connected to it, or enable remote control on its console.",
                op=ftms.OpCode.REQUEST_CONTROL,
                result=response.result,
            )
        self.has_control = True

    async def regain(self) -> bool:
        """Control lost (0xFF): ask once more. False when refused (do not fight)."""
        try:
            async with self.lock:
                await self.request_control_locked()
        except TreadmillError as exc:
            log.warning("control lost and not regained: %s", exc)
            return False
        return True

    async def command(
        self,
        payload: bytes,
        what: str,
        *,
        confirm: Callable[[], bool] | None = None,
        echo: tuple[int, ...] = (),
        ok_results: tuple[int, ...] = (),
    ) -> None:
        """Send one command, taking control first when needed. Raises ``CommandRejected``,
        ``Timeout`` or ``ConnectionLost``."""
        async with self.lock:
            if not self.has_control or self.quirks.control_before_every_write:
                try:
                    await self.request_control_locked(lenient=confirm is not None)
                except Timeout:
                    # KingSmith answers Request Control with nothing: go on, confirm from data, and
                    # do not ask again before every command.
                    if confirm is None:
                        raise
                    self.has_control = True
            self._tracker.expect_echo(echo, asyncio.get_running_loop().time() + ECHO_S)
            response = await self.exchange(payload, what, confirm)
            if response is None:
                return
            result = response.result
            if result == ftms.ResultCode.CONTROL_NOT_PERMITTED:
                # Control went away without a 0xFF (e.g. a reset on the console): ask once more.
                self.has_control = False
                await self.request_control_locked()
                response = await self.exchange(payload, what, confirm)
                if response is None:
                    return
                result = response.result
            if result != ftms.ResultCode.SUCCESS and result not in ok_results:
                raise CommandRejected(
                    f"The treadmill refused to {what} ({result_name(result)}).",
                    op=payload[0],
                    result=result,
                )
