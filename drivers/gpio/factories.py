"""gpiozero pin factories by the config's name for them, and what to say when there is no GPIO."""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

FACTORY_ENVIRONMENT_VARIABLE = "GPIOZERO_PIN_FACTORY"
_DEFAULT = ""
_factories: dict[str, Any] = {}
_factories_lock = threading.Lock()


class NoGpioError(Exception):
    """No pin factory could be opened on this machine; the text names the pin library and its complaint,
    as in ``lgpio: No module named 'lgpio'``."""


def pin_factory(name: str) -> Any:
    """The process's pin factory of that kind.

    One per process and kind, as the hardware is one per process: the mock factory is shared so that a
    simulated panel (the demo, the tests) drives the very pins the driver reads.
    """
    with _factories_lock:
        if name not in _factories:
            _factories[name] = _create(name)
        return _factories[name]


def open_pin_factory(configured: str | None) -> Any:
    """The factory a source uses: the configured one, else $GPIOZERO_PIN_FACTORY's, else gpiozero's choice.

    Blocking (it may load a library and open a GPIO chip). Raises NoGpioError when none can be opened.
    """
    name = configured or os.environ.get(FACTORY_ENVIRONMENT_VARIABLE) or _DEFAULT
    try:
        return pin_factory(name)
    except Exception as exc:
        raise NoGpioError(_why_not(name, exc)) from exc


def pin_number(pin: str | int) -> int:
    """BCM number of a pin named 'GPIO17', 'BCM17' or 17."""
    if isinstance(pin, int):
        return pin
    return int(pin.removeprefix("GPIO").removeprefix("BCM"))


def _create(name: str) -> Any:
    if name == "mock":
        from gpiozero import Device

        factory = _mock_factory()
        # gpiozero's software SPI bus, the one the mock pins offer, is built without the factory it was
        # given and falls back to the process-wide default; without one it would try the real libraries.
        if Device.pin_factory is None:
            Device.pin_factory = factory
        return factory
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    return _gpiozero_choice(name)


class _Fallbacks(Exception):
    """Every pin library gpiozero tried, each with its complaint."""


def _gpiozero_choice(name: str) -> Any:
    from gpiozero import Device
    from gpiozero.exc import BadPinFactory, PinFactoryFallback

    # gpiozero picks the factory named by the environment variable, or tries its libraries in turn and
    # warns about each that fails; those warnings are the reasons worth telling when all of them fail.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            return Device._default_pin_factory()
        except BadPinFactory as exc:
            reasons = [
                str(w.message).removeprefix("Falling back from ")
                for w in caught
                if issubclass(w.category, PinFactoryFallback)
            ]
            if name or not reasons:
                raise
            raise _Fallbacks("; ".join(reasons)) from exc


def _why_not(name: str, exc: Exception) -> str:
    if isinstance(exc, _Fallbacks):
        return str(exc)
    if name and name not in ("lgpio", "rpigpio", "mock"):
        return f"{FACTORY_ENVIRONMENT_VARIABLE}={name}: {exc}"
    return f"{name or 'gpiozero'}: {exc}"


def _mock_factory() -> Any:
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    class SharedMockFactory(MockFactory):
        """gpiozero's mock pins, every one able to do PWM as lgpio's pins are.

        A pin asked for without a class is the pin already there, whatever its class: a simulated SPI
        chip makes its clock and select pins special, and the driver must then get those very pins.
        """

        def __init__(self) -> None:
            super().__init__(pin_class=MockPWMPin)

        def pin(self, name: Any, pin_class: Any = None, **kwargs: Any) -> Any:
            if pin_class is None:
                for _header, info in self.board_info.find_pin(name):
                    if info in self.pins:
                        return self.pins[info]
            return super().pin(name, pin_class, **kwargs)

    return SharedMockFactory()
