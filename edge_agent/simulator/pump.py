"""Physics of a simulated centrifugal pump: a deterministic, noisy stand-in for a real machine.

Every slow quantity (speed, temperatures, drifts, fault severity) is advanced with exact first-order or
Ornstein-Uhlenbeck updates, so the result barely depends on the step size; long steps are still cut into
sub-steps because the quantities feed each other (speed drives heat, flow and vibration).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

RATED_SPEED_RPM = 2900.0
MAX_SPEED_RPM = 3600.0
# A drive ramp as a small VFD would set it: a full start or stop takes about three seconds.
SPEED_RAMP_RPM_PER_S = 1000.0

RATED_FLOW_M3H = 50.0
RATED_PRESSURE_BAR = 5.0

AMBIENT_MEAN_DEGC = 25.0
AMBIENT_SD_DEGC = 2.0
AMBIENT_TAU_S = 1800.0
# Winding temperature rise above ambient at speed ratio r is LINEAR_RISE*r + CUBIC_RISE*r**3: part of
# the losses follows the hydraulic power (~ r**3), part does not.
LINEAR_RISE_DEGC = 15.0
CUBIC_RISE_DEGC = 22.0
THERMAL_TAU_S = 240.0

IDLE_VIBRATION_MMS = 0.1
RUNNING_VIBRATION_MMS = 2.1

# A failing bearing: the speed-dependent vibration grows by (1 + FAULT_VIBRATION_GAIN) within a few
# seconds, and the friction heats the motor by up to FAULT_HEAT_DEGC over about half a minute.
FAULT_VIBRATION_GAIN = 2.5
FAULT_ONSET_TAU_S = 1.5
FAULT_HEAT_DEGC = 15.0
FAULT_HEAT_TAU_S = 10.0
FAULT_COOL_TAU_S = 20.0
# Chance that one reading catches an impact of a rolling element on the damaged race.
FAULT_SPIKE_CHANCE = 0.3

# Cavitation (suction pressure too low: a clogged strainer, a low tank): vapour bubbles form at the
# impeller and collapse. Head and flow drop, the discharge pressure fluctuates, and the vibration rises as
# broadband noise, without the bearing's impacts and without its heat. It builds up within seconds.
CAVITATION_ONSET_TAU_S = 2.0
CAVITATION_HEAD_LOSS = 0.25
CAVITATION_FLOW_LOSS = 0.15
CAVITATION_PRESSURE_FLUCTUATION_BAR = 0.25
CAVITATION_VIBRATION_GAIN = 1.2
CAVITATION_VIBRATION_SPREAD = 0.35
# Below this severity its effects are smaller than the sensors' noise, and the simulation skips them.
CAVITATION_NEGLIGIBLE = 1e-3

# Slow drifts of the hydraulic system (fouling, valve positions) and of the machine's vibration level.
HYDRAULIC_DRIFT_SD = 0.02
HYDRAULIC_DRIFT_TAU_S = 120.0
VIBRATION_DRIFT_SD = 0.05
VIBRATION_DRIFT_TAU_S = 60.0

MAX_SUBSTEP_S = 0.5


@dataclass(frozen=True, slots=True)
class PumpState:
    """What the pump's sensors report at one instant."""

    motor_temperature: float  # degC
    vibration_rms: float  # mm/s
    discharge_pressure: float  # bar
    flow_rate: float  # m3/h
    motor_speed: float  # rpm
    running: bool


def _relax(value: float, target: float, dt: float, tau: float) -> float:
    """Exact first-order lag of ``value`` toward ``target`` over ``dt``."""
    return target + (value - target) * math.exp(-dt / tau)


class PumpSimulator:
    """A centrifugal pump with a speed-controlled motor, deterministic for a given seed.

    Set ``running``, ``speed_setpoint``, ``bearing_fault`` and ``cavitation`` at any time; ``step(dt)``
    advances the simulated time and returns the new sensor readings. The pump starts warm, running at its
    setpoint.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self.running = True
        self.bearing_fault = False
        self.cavitation = False
        self._speed_setpoint = RATED_SPEED_RPM
        self._time_s = 0.0
        self._speed = RATED_SPEED_RPM
        self._ambient_offset = self._rng.gauss(0.0, AMBIENT_SD_DEGC)
        self._winding_temperature = AMBIENT_MEAN_DEGC + self._ambient_offset + self._temperature_rise(1.0)
        self._hydraulic_drift = self._rng.gauss(0.0, HYDRAULIC_DRIFT_SD)
        self._vibration_drift = self._rng.gauss(0.0, VIBRATION_DRIFT_SD)
        self._fault_severity = 0.0
        self._fault_heat = 0.0
        self._cavitation_severity = 0.0
        self._state = self._measure()

    @property
    def speed_setpoint(self) -> float:
        """The speed the drive ramps toward while running, in rpm (clamped to 0..MAX_SPEED_RPM)."""
        return self._speed_setpoint

    @speed_setpoint.setter
    def speed_setpoint(self, rpm: float) -> None:
        self._speed_setpoint = min(max(float(rpm), 0.0), MAX_SPEED_RPM)

    @property
    def time_s(self) -> float:
        """Simulated seconds since creation."""
        return self._time_s

    @property
    def state(self) -> PumpState:
        """The readings of the last step (or of the initial state)."""
        return self._state

    def step(self, dt: float) -> PumpState:
        """Advance the simulation by ``dt`` seconds and return the sensor readings at the new time."""
        if dt < 0:
            raise ValueError(f"dt must not be negative, got {dt}")
        remaining = dt
        while remaining > 0:
            substep = min(remaining, MAX_SUBSTEP_S)
            self._advance(substep)
            remaining -= substep
        self._time_s += dt
        self._state = self._measure()
        return self._state

    @staticmethod
    def _temperature_rise(speed_ratio: float) -> float:
        return LINEAR_RISE_DEGC * speed_ratio + CUBIC_RISE_DEGC * speed_ratio**3

    def _ornstein_uhlenbeck(self, value: float, sd: float, tau: float, dt: float) -> float:
        decay = math.exp(-dt / tau)
        return value * decay + sd * math.sqrt(1.0 - decay * decay) * self._rng.gauss(0.0, 1.0)

    def _advance(self, dt: float) -> None:
        target_speed = self._speed_setpoint if self.running else 0.0
        max_change = SPEED_RAMP_RPM_PER_S * dt
        self._speed += min(max(target_speed - self._speed, -max_change), max_change)
        speed_ratio = self._speed / RATED_SPEED_RPM

        self._ambient_offset = self._ornstein_uhlenbeck(
            self._ambient_offset, AMBIENT_SD_DEGC, AMBIENT_TAU_S, dt
        )
        self._hydraulic_drift = self._ornstein_uhlenbeck(
            self._hydraulic_drift, HYDRAULIC_DRIFT_SD, HYDRAULIC_DRIFT_TAU_S, dt
        )
        self._vibration_drift = self._ornstein_uhlenbeck(
            self._vibration_drift, VIBRATION_DRIFT_SD, VIBRATION_DRIFT_TAU_S, dt
        )

        ambient = AMBIENT_MEAN_DEGC + self._ambient_offset
        self._winding_temperature = _relax(
            self._winding_temperature, ambient + self._temperature_rise(speed_ratio), dt, THERMAL_TAU_S
        )

        # A damaged bearing only shows (and only heats) while the shaft turns.
        if self.bearing_fault:
            self._fault_severity = _relax(self._fault_severity, 1.0, dt, FAULT_ONSET_TAU_S)
            self._fault_heat = _relax(self._fault_heat, FAULT_HEAT_DEGC * speed_ratio, dt, FAULT_HEAT_TAU_S)
        else:
            self._fault_severity = _relax(self._fault_severity, 0.0, dt, FAULT_ONSET_TAU_S)
            self._fault_heat = _relax(self._fault_heat, 0.0, dt, FAULT_COOL_TAU_S)

        # Cavitation needs flow through the impeller: it fades when the pump stops.
        cavitating = self.cavitation and self._speed > 1.0
        self._cavitation_severity = _relax(
            self._cavitation_severity, 1.0 if cavitating else 0.0, dt, CAVITATION_ONSET_TAU_S
        )

    def _measure(self) -> PumpState:
        rng = self._rng
        speed_ratio = self._speed / RATED_SPEED_RPM
        turning = self._speed > 1.0

        motor_speed = max(0.0, self._speed + rng.gauss(0.0, 3.0)) if turning else 0.0
        hydraulic = 1.0 + self._hydraulic_drift
        flow_rate = max(0.0, RATED_FLOW_M3H * speed_ratio * hydraulic + rng.gauss(0.0, 0.3) * speed_ratio)
        discharge_pressure = max(
            0.0, RATED_PRESSURE_BAR * speed_ratio**2 / hydraulic + rng.gauss(0.0, 0.03) * speed_ratio
        )

        severity = self._fault_severity
        running_part = RUNNING_VIBRATION_MMS * speed_ratio**1.5 * (1.0 + self._vibration_drift)
        running_part *= (1.0 + FAULT_VIBRATION_GAIN * severity) * math.exp(
            rng.gauss(0.0, 0.04 + 0.12 * severity)
        )
        if severity > 0.05 and rng.random() < FAULT_SPIKE_CHANCE:
            running_part += rng.expovariate(1.0) * RUNNING_VIBRATION_MMS * speed_ratio * severity
        idle_part = IDLE_VIBRATION_MMS * math.exp(rng.gauss(0.0, 0.1))
        vibration_rms = idle_part + running_part

        motor_temperature = self._winding_temperature + self._fault_heat + rng.gauss(0.0, 0.1)

        # Drawn after everything else, and only while it cavitates, so that a pump that never cavitates
        # replays the same readings for a seed as it did before cavitation was simulated.
        cavitation = self._cavitation_severity
        if cavitation > CAVITATION_NEGLIGIBLE:
            flow_rate *= 1.0 - CAVITATION_FLOW_LOSS * cavitation
            fluctuation = rng.gauss(0.0, CAVITATION_PRESSURE_FLUCTUATION_BAR) * cavitation * speed_ratio
            discharge_pressure = max(
                0.0, discharge_pressure * (1.0 - CAVITATION_HEAD_LOSS * cavitation) + fluctuation
            )
            broadband = (1.0 + CAVITATION_VIBRATION_GAIN * cavitation) * math.exp(
                rng.gauss(0.0, CAVITATION_VIBRATION_SPREAD * cavitation)
            )
            vibration_rms = idle_part + running_part * broadband
        return PumpState(
            motor_temperature=motor_temperature,
            vibration_rms=vibration_rms,
            discharge_pressure=discharge_pressure,
            flow_rate=flow_rate,
            motor_speed=motor_speed,
            running=self.running,
        )
