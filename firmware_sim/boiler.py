"""A first, simple boiler: plausible telemetry that moves with the weather and the thermostat.

Not yet physics (that comes with the predictive-care work): a room that drifts toward its setpoint,
a burner that modulates with the heat demand, water temperatures and counters that follow. Every
value stays inside the contract's ranges. Deterministic for a device's seed and simulated time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from firmware_sim.fleet import SimDevice

__all__ = ["Boiler"]


@dataclass
class Boiler:
    """The state of one simulated boiler between reports."""

    device: SimDevice
    room_c: float = 19.0
    room_setpoint_c: float = 21.0
    ch_setpoint_c: float = 60.0
    dhw_setpoint_c: float = 45.0
    pressure_bar: float = 1.4
    burner_starts: int = 0
    failed_starts: int = 0
    flame_loss_count: int = 0
    burner_hours: float = 0.0
    gas_total_m3: float = 0.0
    auto_refill_count: int = 0
    flame_on: bool = False
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.device.seed)
        self.room_c = 17.0 + self.rng.uniform(0, 4)
        self.room_setpoint_c = float(self.rng.choice((20, 21, 22, 23)))
        self.burner_starts = self.rng.randrange(1000, 40000)
        self.failed_starts = self.burner_starts // self.rng.randrange(200, 800)
        self.burner_hours = self.burner_starts * self.rng.uniform(0.3, 0.6)
        self.gas_total_m3 = self.burner_hours * 1.2

    def outdoor_c(self, at: datetime) -> float:
        """A daily cycle around the region's winter mean, coldest before dawn (KST)."""
        hour = (at.timestamp() / 3600 + 9) % 24
        return self.device.region.winter_mean_c + 4.0 * math.sin((hour - 9) / 24 * 2 * math.pi)

    def step(self, at: datetime, dt_s: float) -> dict[str, Any]:
        """Advance by `dt_s` simulated seconds and return the measurements at `at`."""
        outdoor = self.outdoor_c(at)
        demand = max(0.0, min(1.0, (self.room_setpoint_c - self.room_c) / 2.0 + 0.35))
        was_on = self.flame_on
        self.flame_on = demand > 0.3
        modulation = round(100 * demand, 1) if self.flame_on else 0.0
        if self.flame_on and not was_on:
            self.burner_starts += 1
            if self.rng.random() < 0.01:
                self.failed_starts += 1
        hours = dt_s / 3600
        if self.flame_on:
            self.burner_hours += hours
            self.gas_total_m3 += hours * (0.4 + 2.0 * demand)
        heat_in = 0.9 * demand if self.flame_on else 0.0
        loss = (self.room_c - outdoor) / 40.0
        self.room_c += (heat_in - loss) * min(dt_s, 600) / 600 + self.rng.gauss(0, 0.05)
        self.room_c = max(-5.0, min(35.0, self.room_c))
        flow = 30 + 40 * modulation / 100 + self.rng.gauss(0, 0.3) if self.flame_on else self.room_c + 8
        ret = flow - (8 + 8 * modulation / 100) if self.flame_on else flow - 1
        self.pressure_bar = 1.3 + 0.004 * (flow - 20) + self.rng.gauss(0, 0.01)
        values: dict[str, Any] = {
            "ch_flow_c": round(flow, 1),
            "ch_return_c": round(ret, 1),
            "ch_setpoint_c": self.ch_setpoint_c,
            "dhw_c": round(self.dhw_setpoint_c - 2 + self.rng.gauss(0, 0.5), 1),
            "dhw_setpoint_c": self.dhw_setpoint_c,
            "outdoor_c": round(outdoor, 1),
            "room_c": round(self.room_c, 2),
            "room_setpoint_c": self.room_setpoint_c,
            "flue_c": round(ret + 8 + self.rng.gauss(0, 0.5), 1)
            if self.flame_on
            else round(self.room_c + 3, 1),
            "modulation_pct": modulation,
            "flame_on": self.flame_on,
            "flame_current_ua": round(8 + self.rng.gauss(0, 0.4), 2) if self.flame_on else 0.0,
            "fan_rpm": round(1800 + 38 * modulation) if self.flame_on else 0,
            "burner_starts": self.burner_starts,
            "failed_starts": self.failed_starts,
            "flame_loss_count": self.flame_loss_count,
            "burner_hours": round(self.burner_hours, 3),
            "dhw_flow_lpm": 0.0,
            "gas_total_m3": round(self.gas_total_m3, 3),
            "mode": "heat",
        }
        if self.device.open_tank:
            values["water_level_low"] = False
            values["auto_refill_count"] = self.auto_refill_count
        else:
            values["ch_pressure_bar"] = round(self.pressure_bar, 3)
        return values
