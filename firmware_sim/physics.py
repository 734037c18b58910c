"""Lumped-parameter physics of a fleet of boilers, their houses and their faults, one minute at a time.

Every boiler is a handful of state variables advanced together as arrays (numpy), so a fleet of
thousands runs a heating season in minutes. Per boiler:

- house: `C_room·dT_room/dt = Q_emit + Q_internal − UA_bldg·(T_room − T_out)`;
- heating water (one lumped temperature `T_w`): `C_w·dT_w/dt = Q_burner − Q_emit − UA_case·(T_w − T_amb)`,
  with `Q_emit = UA_emit·(T_w − T_room)` while the pump runs (and a trickle when it does not); flow and
  return sit half the loop spread `Q/(ṁ·c_p)` above and below `T_w`;
- control: a room thermostat with hysteresis and night set-back, a weather-compensated flow setpoint,
  burner modulation between the model's minimum and 100 %, hot-water draws (a combi boiler gives them
  priority), freeze protection (pump at 8 °C, burner at 5 °C, only with power);
- combustion: ignition in up to 3 trials then lockout, flame current, flame losses, fan speed linear in
  modulation, flue temperature a few kelvin above the return, efficiency rising as the return falls
  below about 55 °C (condensing), gas use;
- water: a sealed loop whose pressure rises ~0.5 bar from cold to hot, or a Korean open expansion tank
  whose level switch triggers automatic refills;
- counters as OpenTherm keeps them: successful and failed starts, flame losses, burner hours.

Faults (see `fault_plan`) act on these parameters and end in the code the boiler's own protection
raises. With `repair_after` set, a simulated technician fixes a failed boiler after a delay (the code
clears and the fault is gone), as happens in a real season.

Values fed back into the physics are deterministic for (devices, weather, faults, seed); measurement
noise is drawn from the same seeded generator, in blocks, so any stepping schedule gives the same
numbers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np

from firmware_sim.fault_plan import FaultKind, PlannedFault
from firmware_sim.fleet import REGIONS, SimDevice
from firmware_sim.weather import Weather

__all__ = ["CODES", "FaultOutcome", "FleetPhysics", "SimEvent"]

CODES: Final = ("", "E002", "E003", "E012", "E016", "E022", "E025", "E110", "E201", "E228")
"""Codes the physics can raise; index 0 means no lockout."""
_CODE: Final = {code: i for i, code in enumerate(CODES)}
MODES: Final = ("heating", "away", "frost_protection", "off")
"""The thermostat modes a command sets (protocol.commands.DeviceMode), in the order of `mode`'s values."""
REPORTED_MODES: Final = ("heat", "away", "frost", "off")
"""How the thermostat reports each of MODES in telemetry's `mode`."""
_KINDS: Final = tuple(FaultKind)
_KIND: Final = {kind: i for i, kind in enumerate(_KINDS)}

STEP_S: Final = 120.0
"""The physics step: two minutes, short against every time constant of the model (the heating water's
is about 20 minutes, the house's about a day)."""
_MINUTES: Final = STEP_S / 60
_BLOCK: Final = 64
"""Steps of random numbers drawn at once (drawing per step would dominate the run time)."""
_DRAWS: Final = 10
"""Uniforms per device and step: ignition trials (3), flame loss, hot-water draw start, length and
flow, Wi-Fi outage start and length, gust."""
_NOISE: Final = 2
"""Normal draws per device and step for the physics (measurement noise is drawn when reporting)."""

_KWH_PER_M3: Final = 11.9
"""City gas (LNG), about 43 MJ/m³."""
_MCP: Final = 1.0
"""Heating-loop flow × heat capacity at a healthy pump, kW/K (about 14 l/min)."""
_UA_CASE: Final = 0.015
_INLET_C: Final = 10.0


@dataclass(frozen=True, slots=True)
class SimEvent:
    device_index: int
    code: str
    raised: bool
    at: datetime


@dataclass(slots=True)
class FaultOutcome:
    """What became of a planned fault: the ground truth an evaluation scores against."""

    fault: PlannedFault
    failed_at: datetime | None = None
    """When the fault's failure happened (the boiler's protection tripped, or its water froze)."""
    code: str | None = None
    """The code the boiler raised."""
    repaired_at: datetime | None = None


@dataclass
class _Params:
    """Per-boiler constants, drawn from each device's own seed."""

    c_room: Any
    ua_bldg: Any
    ua_emit: Any
    c_w: Any
    q_max: Any
    min_mod: Any
    room_set: Any
    setback: Any
    rpm_lo: Any
    rpm_hi: Any
    flame_i0: Any
    p_trial: Any
    p_fill: Any
    outdoor_bias: Any
    open_tank: Any


def _draw_params(devices: Sequence[SimDevice]) -> _Params:
    rows = []
    for d in devices:
        r = random.Random(f"house:{d.seed}")
        rows.append((
            r.uniform(3.0, 6.0), r.uniform(0.13, 0.24), r.uniform(0.30, 0.45), r.uniform(0.10, 0.15),
            r.choice((20.0, 24.0, 29.0, 34.0)), r.uniform(0.18, 0.25), float(r.choice((20, 21, 22, 23))),
            r.choice((0.0, 0.0, 1.5, 2.5)), r.uniform(1500, 1900), r.uniform(5200, 6200), r.uniform(6.0, 12.0),
            r.uniform(0.994, 0.999), r.uniform(1.1, 1.5), r.uniform(-1.0, 1.0), 1.0 if d.open_tank else 0.0,
        ))  # fmt: skip
    cols = np.array(rows, dtype=float).T if rows else np.zeros((15, 0))
    names = [f for f in _Params.__dataclass_fields__ if f != "open_tank"]
    return _Params(**dict(zip(names, cols[:-1], strict=True)), open_tank=cols[-1].astype(bool))


@dataclass
class FleetPhysics:
    devices: Sequence[SimDevice]
    weather: Weather
    start: datetime
    seed: int
    faults: Sequence[PlannedFault] = ()
    repair_after: tuple[timedelta, timedelta] | None = None
    """A technician fixes a failed boiler this long after (uniform between the two); None: never."""
    wifi_outages_per_day: float = 0.0
    """Healthy internet outages (the boiler keeps heating but cannot report): a confounder."""
    now: datetime = field(init=False)
    outcomes: list[FaultOutcome] = field(init=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must carry a timezone")
        n = len(self.devices)
        self.now = self.start
        self._step_no = 0
        self._requested_s = 0.0
        self._rng = np.random.default_rng(self.seed)
        self._p = _draw_params(self.devices)
        self._region = np.array([REGIONS.index(d.region) for d in self.devices], dtype=int)
        index = {d.device_id: i for i, d in enumerate(self.devices)}
        self.outcomes = [FaultOutcome(f) for f in self.faults]
        self._fault_of = np.full(n, -1, dtype=int)
        self._kind = np.full(n, -1, dtype=int)
        self._onset_h = np.full(n, np.inf)
        self._ramp_h = np.ones(n)
        self._exposure = np.zeros(n)
        for k, fault in enumerate(self.faults):
            i = index[fault.device_id]
            if self._fault_of[i] >= 0:
                raise ValueError(f"{fault.device_id} has two planned faults; one per device is supported")
            self._fault_of[i] = k
            self._kind[i] = _KIND[fault.kind]
            self._onset_h[i] = (fault.onset - self.start).total_seconds() / 3600
            self._ramp_h[i] = max(fault.ramp.total_seconds() / 3600, 1e-6)
            self._exposure[i] = fault.exposure
        self._active = self._fault_of >= 0
        # State.
        t_out = self._outdoor(0.0)
        self.t_room = self._p.room_set - 1.0 + np.array([random.Random(f"room:{d.seed}").uniform(-1, 1)
                                                         for d in self.devices])  # fmt: skip
        self.t_w = np.maximum(self.t_room + 10, 25.0)
        self.flow = self.t_w.copy()
        self.ret = self.t_w.copy()
        self.t_out = t_out
        self.demand = np.zeros(n, dtype=bool)
        self.burner = np.zeros(n, dtype=bool)
        self.burner_dhw = np.zeros(n, dtype=bool)
        self.modulation = np.zeros(n)
        self.q_emit = np.zeros(n)
        self.flue = self.t_w.copy()
        self.fan = np.zeros(n)
        self.flame_i = np.zeros(n)
        self.pressure = self._p.p_fill.copy()
        self.level = np.ones(n)
        self.level_low = np.zeros(n, dtype=bool)
        self.ice = np.zeros(n)
        self.dhw_left = np.zeros(n)
        self.dhw_lpm = np.zeros(n)
        self.dhw_c = np.full(n, 25.0)
        self.flow_set = np.full(n, 50.0)
        self.flow_override = np.full(n, np.nan)
        """A flow setpoint set by a command (NaN: weather compensation decides)."""
        self.dhw_set = np.full(n, 45.0)
        self.mode = np.zeros(n, dtype=int)
        """Index into MODES: what the room thermostat was told to do."""
        self.locked = np.zeros(n, dtype=int)
        self._locked_h = np.full(n, np.inf)
        self._repair_h = np.full(n, np.inf)
        self._frozen = np.zeros(n, dtype=bool)
        self._wifi_until_h = np.full(n, -1.0)
        self._refill_times = np.full((n, 4), -np.inf)
        self._gust = np.ones(n)
        seeds = [random.Random(f"counters:{d.seed}") for d in self.devices]
        starts = np.array([r.randrange(1000, 40000) for r in seeds], dtype=float)
        self.starts = starts
        self.failed = np.floor(starts * (1 - self._p.p_trial))
        self.flame_losses = np.floor(starts / 5000)
        self.burner_hours = starts * np.array([r.uniform(0.3, 0.6) for r in seeds])
        self.gas_m3 = self.burner_hours * 1.6
        self.refills = np.floor(starts / 8000) * self._p.open_tank
        self._pending: list[SimEvent] = []
        self._draws: Any = np.zeros((0, _DRAWS, n))
        self._noise: Any = np.zeros((0, _NOISE, n))

    # ------------------------------------------------------------------ time and inputs

    @property
    def hours(self) -> float:
        return self._step_no * STEP_S / 3600

    def _outdoor(self, hours: float) -> Any:
        at = self.start + timedelta(hours=hours)
        per_region = np.array([self.weather.outdoor(r, at) for r in range(len(REGIONS))])
        return per_region[self._region] if len(self.devices) else np.zeros(0)

    def _block(self) -> tuple[Any, Any]:
        k = self._step_no % _BLOCK
        if k == 0 or len(self._draws) == 0:
            n = len(self.devices)
            self._draws = self._rng.random((_BLOCK, _DRAWS, n), dtype=np.float32)
            self._noise = self._rng.standard_normal((_BLOCK, _NOISE, n), dtype=np.float32)
        return self._draws[k], self._noise[k]

    def advance(self, seconds: float) -> list[SimEvent]:
        """Move simulated time on by `seconds` (in whole steps: a shorter request may run none, and the
        next catches up); return the codes raised and cleared meanwhile."""
        events: list[SimEvent] = []
        self._requested_s += seconds
        while self._step_no * STEP_S < self._requested_s - 1e-6:
            events.extend(self._step())
        return events

    # ------------------------------------------------------------------ one step

    def _step(self) -> list[SimEvent]:
        p = self._p
        dt_h = STEP_S / 3600
        u, z = self._block()
        self._step_no += 1
        h = self.hours
        self.now = self.start + timedelta(hours=h)
        events: list[SimEvent] = []
        t_out = self._outdoor(h)
        self.t_out = t_out
        hour_kst = (self.now.hour + self.now.minute / 60 + 9) % 24

        self._repairs(h, events)  # first: a boiler repaired now runs healthy from this step on
        x = np.where(self._active, np.clip((h - self._onset_h) / self._ramp_h, 0.0, 1.5), 0.0)
        kind = self._kind
        x_leak = np.where(kind == _KIND[FaultKind.LEAK], x, 0.0)
        x_wear = np.where(kind == _KIND[FaultKind.ELECTRODE_WEAR], x, 0.0)
        x_foul = np.where(kind == _KIND[FaultKind.FLAME_ROD_FOULING], x, 0.0)
        x_scale = np.where(kind == _KIND[FaultKind.SCALING], x, 0.0)
        x_circ = np.where(kind == _KIND[FaultKind.CIRCULATION_LOSS], x, 0.0)
        x_flue = np.where(kind == _KIND[FaultKind.FLUE_BLOCKAGE], x, 0.0)
        exposed = np.where((kind == _KIND[FaultKind.CONDENSATE_FREEZE]) & self._active & (h >= self._onset_h),
                           self._exposure, 0.0)  # fmt: skip
        off = ((kind == _KIND[FaultKind.UNPOWERED_FROST]) & self._active & (h >= self._onset_h)
               & (h < self._onset_h + self._ramp_h))  # fmt: skip
        powered = ~off
        self._power_returns(h, off, events)
        locked = self.locked > 0

        # Thermostat: hysteresis around the setpoint, set back at night in some homes.
        night = (hour_kst >= 23) | (hour_kst < 6)
        room_set = self._room_target(p.room_set - np.where(night, p.setback, 0.0))
        self.demand = np.where(self.t_room < room_set - 0.3, True, np.where(self.t_room > room_set + 0.3, False,
                                                                           self.demand))  # fmt: skip
        self.flow_set = np.where(np.isnan(self.flow_override), np.clip(30 + 1.3 * (room_set - t_out), 35.0, 70.0),
                                 self.flow_override)  # fmt: skip

        # Hot-water draws: mornings and evenings mostly.
        busy = ((hour_kst >= 6.5) & (hour_kst < 8.5)) | ((hour_kst >= 19) & (hour_kst < 22.5))
        p_draw = np.where(busy, 0.03, 0.003) * _MINUTES
        new_draw = (self.dhw_left <= 0) & (u[4] < p_draw)
        self.dhw_left = np.where(new_draw, 2 + np.floor(u[5] * 8), np.maximum(self.dhw_left - _MINUTES, 0))
        self.dhw_lpm = np.where(new_draw, 5 + 4 * u[6], np.where(self.dhw_left > 0, self.dhw_lpm, 0.0))
        able = powered & ~locked
        dhw = able & (self.dhw_left > 0)

        # Burner: hot water first, else heating while the flow is below its setpoint (with a band).
        freeze_fire = powered & ~locked & (self.t_w <= 5.0)
        ch_call = able & (self.demand | (self.t_w <= 8.0))
        was_ch = self.burner & ~self.burner_dhw
        ch_fire = ch_call & ~dhw & (np.where(was_ch, self.flow < self.flow_set + 3, self.flow < self.flow_set - 6)
                                    | freeze_fire)  # fmt: skip
        want = dhw | ch_fire
        starting = want & ~self.burner
        p_trial = p.p_trial - (p.p_trial - 0.3) * np.minimum(x_wear, 1.0)
        trials_ok = u[0:3] < p_trial
        lit = trials_ok.any(axis=0)
        failed_trials = np.where(lit, trials_ok.argmax(axis=0), 3)
        self.failed += np.where(starting, failed_trials, 0)
        self.starts += starting & lit
        self._lock(starting & ~lit, "E003", events)
        burning = want & ~(starting & ~lit)

        # Power asked of the burner.
        q_min = p.q_max * p.min_mod
        q_dhw = self.dhw_lpm * 4.186 / 60 * (45.0 - _INLET_C)
        q_ch = self.q_emit + 1.5 * (self.flow_set - self.flow)
        q = np.clip(np.where(dhw, q_dhw, q_ch), q_min, p.q_max)
        q = np.where(burning, q, 0.0)
        self.modulation = np.where(burning, 100 * q / p.q_max, 0.0)
        mod = self.modulation / 100

        # Flame current; a weak flame drops out, and one too weak to prove ends in a lockout.
        i_flame = p.flame_i0 * (1 - 0.88 * np.minimum(x_foul, 1.0)) * (1 - 0.25 * np.minimum(x_wear, 1.0))
        i_flame = np.maximum(i_flame * (0.92 + 0.16 * mod) + 0.3 * z[0], 0.0)
        p_loss = 0.3 * _MINUTES / (1 + np.exp(np.clip((i_flame - 1.6) / 0.15, -50, 50)))
        lost = burning & (u[3] < p_loss)
        self.flame_losses += lost
        self._lock(lost & (i_flame < 1.0), "E012", events)
        self.starts += lost & (i_flame >= 1.0)  # relit at once
        burning &= self.locked == 0
        self.flame_i = np.where(burning, i_flame, 0.0)

        # Water and house.
        g = np.maximum(1 - 0.75 * np.minimum(x_circ, 1.2), 0.05)
        pump = powered & (self.demand | burning | (self.t_w <= 8.0)) & (self.locked == 0)
        ch_burning = burning & ~dhw
        q_ch_in = np.where(ch_burning, q, 0.0)
        self.q_emit = p.ua_emit * (self.t_w - self.t_room) * np.where(pump, 0.5 + 0.5 * g, 0.08)
        t_amb = 0.6 * self.t_room + 0.4 * t_out
        self.t_w = self.t_w + dt_h * (q_ch_in - self.q_emit - _UA_CASE * (self.t_w - t_amb)) / p.c_w
        self.t_room = self.t_room + dt_h * (self.q_emit + 0.3 - p.ua_bldg * (self.t_room - t_out)) / p.c_room
        spread = np.where(pump, np.where(ch_burning, q_ch_in, np.maximum(self.q_emit, 0.0)) / (_MCP * g), 0.0)
        self.flow = self.t_w + spread / 2
        self.ret = self.t_w - spread / 2
        # No circulation: the pump cannot move the water, or the loop spread is beyond what the boiler
        # accepts (its flow-return spread protection trips before the water overheats).
        self._lock(pump & burning & ((g < 0.32) | (spread > 55.0)), "E022", events)
        self._lock(ch_burning & (self.flow + 45 * x_scale * mod > 95.0), "E016", events)

        # Combustion side: flue, efficiency, fan, condensate ice.
        ret_hx = np.where(dhw, 28.0, self.ret)
        self.flue = np.where(burning, ret_hx + 4 + 8 * mod + 22 * x_scale,
                             t_amb + 0.3 * (self.t_w - t_amb))  # fmt: skip
        eta = 0.975 - 0.09 * np.clip((ret_hx - 30) / 25, 0, 1) - 0.06 * np.minimum(x_scale, 1.0)
        condensing = burning & (ret_hx < 52)
        growth = 0.015 * exposed * np.maximum(-t_out - 1.0, 0.0) * condensing
        melt = 0.08 * np.maximum(t_out - 0.5, 0.0)
        self.ice = np.clip(self.ice + dt_h * (growth - melt), 0.0, 2.0)
        if self._step_no % 60 == 0:
            self._gust = 1 + 0.03 * (u[9] - 0.5)
        restriction = 1 + 0.35 * np.minimum(x_flue, 1.2) + 0.45 * self.ice
        self.fan = np.where(burning, (p.rpm_lo + (p.rpm_hi - p.rpm_lo) * mod) * restriction * self._gust, 0.0)
        self._lock(burning & (x_flue * self._gust >= 1.0), "E110", events)
        self._lock(burning & (self.ice >= 1.0), "E025", events)
        self.burner = burning & (self.locked == 0)
        self.burner_dhw = self.burner & dhw
        self.burner_hours += np.where(self.burner, dt_h, 0.0)
        self.gas_m3 += np.where(self.burner, q / eta * dt_h / _KWH_PER_M3, 0.0)
        self.dhw_c = np.where(
            self.burner_dhw, 45.0 + 0.4 * z[1], np.maximum(t_amb, 0.5 * (self.dhw_c + t_amb))
        )

        self._water(dt_h, x_leak, powered, events)
        self._frost(h, off)
        self._wifi(h, u)
        return events

    def _water(self, dt_h: float, x_leak: Any, powered: Any, events: list[SimEvent]) -> None:
        p = self._p
        sealed = ~p.open_tank
        fill = p.p_fill - (p.p_fill - 0.3) * np.minimum(x_leak, 1.2)
        self.pressure = np.where(sealed, fill + 0.012 * (self.t_w - 20), self.pressure)
        self._lock(sealed & powered & (self.pressure < 0.5), "E002", events)
        evaporation = 0.7 / (120 * 24)
        self.level = np.where(p.open_tank, self.level - dt_h * (evaporation + 0.15 * x_leak), self.level)
        level = self.level + 0.004 * (self.t_w - 20)
        refill = p.open_tank & powered & (level < 0.3)
        if refill.any():
            self.level = np.where(refill, self.level + 0.7, self.level)
            self.refills += refill
            slot = (self.refills % 4).astype(int)
            rows = np.nonzero(refill)[0]
            self._refill_times[rows, slot[rows]] = self.hours
            burst = refill & (self.hours - self._refill_times.min(axis=1) < 24)
            self._lock(burst, "E228", events)
        self.level_low = p.open_tank & (level < 0.35)

    def _frost(self, h: float, off: Any) -> None:
        """An unpowered boiler whose water reaches 0 °C has frozen: the failure of that fault."""
        newly = off & ~self._frozen & (self.t_w <= 0.0)
        for i in np.nonzero(newly)[0].tolist():
            self._frozen[i] = True
            self._fail(i, None)

    def _wifi(self, h: float, u: Any) -> None:
        if self.wifi_outages_per_day <= 0:
            return
        start = (self._wifi_until_h < h) & (u[7] < self.wifi_outages_per_day * _MINUTES / (24 * 60))
        self._wifi_until_h = np.where(start, h + (5 + 85 * u[8]) / 60, self._wifi_until_h)

    def _room_target(self, scheduled: Any) -> Any:
        """The room temperature the thermostat aims at in each mode: the schedule when heating, 4 °C
        less when away, 7 °C in frost protection (the loop itself is kept above freezing by the
        boiler's own freeze protection in every mode), nothing when off."""
        return np.select(
            [self.mode == 0, self.mode == 1, self.mode == 2],
            [scheduled, scheduled - 4.0, np.full_like(scheduled, 7.0)],
            default=np.full_like(scheduled, -50.0),
        )

    # ------------------------------------------------------------------ what commands do

    def reset_lockout(self, i: int) -> tuple[bool, str]:
        """A remote lockout reset (OpenTherm ID 4, request 1): clears the lockout. The cause is not
        touched: a boiler whose cause is still there (a worn electrode) locks out again on its own."""
        if not self.locked[i]:
            return True, "no lockout was active"
        code = CODES[self.locked[i]]
        self.locked[i] = 0
        self._locked_h[i] = np.inf
        self._pending.append(SimEvent(i, code, False, self.now))
        return True, f"{code} reset"

    def set_room_setpoint(self, i: int, celsius: float) -> None:
        self._p.room_set[i] = celsius

    def set_flow_setpoint(self, i: int, celsius: float) -> None:
        self.flow_override[i] = celsius

    def set_dhw_setpoint(self, i: int, celsius: float) -> None:
        self.dhw_set[i] = celsius

    def set_mode(self, i: int, mode: str) -> None:
        self.mode[i] = MODES.index(mode)

    def fill_water(self, i: int) -> None:
        """Automatic filling (OpenTherm ID 4, request 2): back to the fill pressure and a full tank."""
        self.pressure[i] = self._p.p_fill[i]
        self.level[i] = 1.0
        self.level_low[i] = False

    def cancel_repair(self, i: int) -> None:
        """No technician comes: the boiler was fixed remotely. If its cause is still there, it locks
        out again, and that lockout books a visit of its own."""
        self._repair_h[i] = np.inf

    def take_events(self) -> list[SimEvent]:
        """Events caused by commands since the last call (a reset clears its code)."""
        events, self._pending = self._pending, []
        return events

    # ------------------------------------------------------------------ lockouts and repairs

    def _lock(self, mask: Any, code: str, events: list[SimEvent]) -> None:
        new = mask & (self.locked == 0)
        if not new.any():
            return
        for i in np.nonzero(new)[0].tolist():
            self.locked[i] = _CODE[code]
            self._locked_h[i] = self.hours
            events.append(SimEvent(i, code, True, self.now))
            self._fail(i, code)
            if self.repair_after is not None:
                low, high = (d.total_seconds() / 3600 for d in self.repair_after)
                self._repair_h[i] = self.hours + random.Random(
                    f"repair:{self.seed}:{i}:{self._step_no}"
                ).uniform(low, high)

    def _fail(self, i: int, code: str | None) -> None:
        k = self._fault_of[i]
        if k < 0 or not self._active[i] or self.hours < self._onset_h[i]:
            return
        outcome = self.outcomes[k]
        if outcome.failed_at is None:
            outcome.failed_at = self.now
        if code is not None and outcome.code is None:
            outcome.code = code

    def _power_returns(self, h: float, off: Any, events: list[SimEvent]) -> None:
        """Power comes back: a boiler whose water froze reports freeze protection and stays blocked."""
        back = self._frozen & ~off & (self.locked == 0) & self._active
        for i in np.nonzero(back)[0].tolist():
            self._lock(np.arange(len(self.devices)) == i, "E201", events)

    def _repairs(self, h: float, events: list[SimEvent]) -> None:
        due = self._repair_h <= h
        for i in np.nonzero(due)[0].tolist():
            if self.locked[i]:
                events.append(SimEvent(i, CODES[self.locked[i]], False, self.now))
            self.locked[i] = 0
            self._repair_h[i] = np.inf
            if self._active[i]:
                self._active[i] = False
                self.outcomes[self._fault_of[i]].repaired_at = self.now
            self.ice[i] = 0.0
            self._frozen[i] = False
            self.level[i] = 1.0
            self.t_w[i] = max(self.t_w[i], 10.0)

    # ------------------------------------------------------------------ what the boilers report

    def reporting(self) -> Any:
        """Which boilers can report now: powered and with their internet up."""
        off = ((self._kind == _KIND[FaultKind.UNPOWERED_FROST]) & self._active & (self.hours >= self._onset_h)
               & (self.hours < self._onset_h + self._ramp_h))  # fmt: skip
        return ~off & (self._wifi_until_h < self.hours)

    def _report_noise(self) -> Any:
        """Measurement noise of this step for every boiler, drawn once: a device's reported values do
        not depend on which other devices report, or in which order."""
        if getattr(self, "_noise_step", -1) != self._step_no:
            self._noise_step = self._step_no
            self._step_noise = np.random.default_rng((self.seed, self._step_no)).standard_normal(
                (7, len(self.devices))
            )
        return self._step_noise

    def report_values(self, index: int) -> dict[str, Any]:
        """One boiler's report now, without the fields it does not have (None)."""
        return {k: v[0] for k, v in self.report_columns([index]).items() if v[0] is not None}

    def report_columns(self, indices: Any) -> dict[str, list[Any]]:
        """Telemetry of the boilers at `indices` now, as one list per contract field (python values)."""
        idx = np.asarray(indices, dtype=int)
        z = self._report_noise()[:, idx]
        p = self._p
        on = self.burner[idx]
        open_tank = p.open_tank[idx]
        cols: dict[str, list[Any]] = {
            "ch_flow_c": _temp(self.flow[idx] + 0.2 * z[0], 1).tolist(),
            "ch_return_c": _temp(self.ret[idx] + 0.2 * z[1], 1).tolist(),
            "ch_setpoint_c": np.round(self.flow_set[idx], 1).tolist(),
            "dhw_c": _temp(self.dhw_c[idx], 1).tolist(),
            "dhw_setpoint_c": np.round(self.dhw_set[idx], 1).tolist(),
            "outdoor_c": _temp(self.t_out[idx] + p.outdoor_bias[idx] + 0.3 * z[2], 1).tolist(),
            "room_c": _temp(self.t_room[idx] + 0.1 * z[3], 2).tolist(),
            "room_setpoint_c": p.room_set[idx].tolist(),
            "flue_c": _temp(self.flue[idx] + 0.5 * z[4], 1).tolist(),
            "modulation_pct": np.round(self.modulation[idx], 1).tolist(),
            "flame_on": on.tolist(),
            "flame_current_ua": np.round(self.flame_i[idx], 2).tolist(),
            "fan_rpm": np.round(np.where(on, self.fan[idx] + 25 * z[5], 0.0)).tolist(),
            "burner_starts": self.starts[idx].astype(int).tolist(),
            "failed_starts": self.failed[idx].astype(int).tolist(),
            "flame_loss_count": self.flame_losses[idx].astype(int).tolist(),
            "burner_hours": np.round(self.burner_hours[idx], 3).tolist(),
            "dhw_flow_lpm": np.round(np.where(self.dhw_left[idx] > 0, self.dhw_lpm[idx], 0.0), 1).tolist(),
            "gas_total_m3": np.round(self.gas_m3[idx], 3).tolist(),
            "mode": [REPORTED_MODES[m] for m in self.mode[idx].tolist()],
            "ch_pressure_bar": [None if t else v for t, v in
                                zip(open_tank.tolist(), np.round(self.pressure[idx] + 0.008 * z[6], 3).tolist(),
                                    strict=True)],
            "water_level_low": [bool(low) if t else None for t, low in
                                zip(open_tank.tolist(), self.level_low[idx].tolist(), strict=True)],
            "auto_refill_count": [int(c) if t else None for t, c in
                                  zip(open_tank.tolist(), self.refills[idx].tolist(), strict=True)],
        }  # fmt: skip
        return cols


def _temp(values: Any, digits: int) -> Any:
    """Rounded like a sensor, and inside the range every temperature field of the contract accepts."""
    return np.round(np.clip(values, -30.0, 130.0), digits)
