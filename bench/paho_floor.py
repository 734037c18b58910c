"""Floors for a Python MQTT gateway: a bare paho subscriber that acknowledges each QoS-1 message as it
arrives (manual ack, MQTT 3.1.1 as the gateway uses) and does nothing else. Prints its CPU time per
message once it has received the expected count.

Two subscribers:
- `stock`: paho's Client with its own network thread (`loop_start`), as a plain paho program runs.
  paho reads every packet with three or four `recv` calls and handles one packet per `select`.
- `buffered`: the same protocol work with the reads served from one 256 KiB `recv` and the buffer
  drained before waiting again (the gateway's `BufferedReadClient.read_available`, without its QoS-1
  fast path), on one thread: the floor of paho's own parser.

Usage: python bench/paho_floor.py HOST PORT COUNT [stock|buffered [TOPIC_FILTER]]
"""

from __future__ import annotations

import selectors
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.mqtt_edge import BufferedReadClient


class Counter:
    """Counts messages, acknowledging each, and notes when the first came."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.received = 0
        self.first = 0.0
        self.done = threading.Event()

    def on_message(self, client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if not self.received:
            self.first = time.monotonic()
        self.received += 1
        client.ack(message.mid, message.qos)
        if self.received >= self.count:
            self.done.set()


TOPIC_FILTER = sys.argv[5] if len(sys.argv) > 5 else "ondol/v1/+/telemetry"


def _subscribe(client: paho.Client, *_: Any) -> None:
    client.subscribe(TOPIC_FILTER, qos=1)


def stock(host: str, port: int, counter: Counter) -> float:
    """CPU seconds of a stock paho client with its network thread."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho-floor",
                         protocol=MQTTProtocolVersion.MQTTv311, manual_ack=True)  # fmt: skip
    client.on_message = counter.on_message
    client.on_connect = _subscribe
    client.connect(host, port)
    cpu0 = time.process_time()
    client.loop_start()
    print("ready", flush=True)
    counter.done.wait()
    cpu = time.process_time() - cpu0
    client.disconnect()
    client.loop_stop()
    return cpu


def buffered(host: str, port: int, counter: Counter) -> float:
    """CPU seconds of paho with buffered reads, driven by one selector loop on this thread."""
    client = BufferedReadClient(CallbackAPIVersion.VERSION2, client_id="bench-paho-floor-buffered",
                                protocol=MQTTProtocolVersion.MQTTv311, manual_ack=True)  # fmt: skip
    client.on_message = counter.on_message
    client.on_connect = _subscribe
    client.connect(host, port)
    sock = client.socket()
    assert sock is not None
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    cpu0 = time.process_time()
    print("ready", flush=True)
    last_misc = time.monotonic()
    while not counter.done.is_set():
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.want_write() else 0)
        selector.modify(sock, mask)
        for _key, events in selector.select(1.0):
            if events & selectors.EVENT_READ:
                client.read_available()
            if events & selectors.EVENT_WRITE:
                client.loop_write()
        if time.monotonic() - last_misc >= 1.0:
            client.loop_misc()
            last_misc = time.monotonic()
    cpu = time.process_time() - cpu0
    client.disconnect()
    client.loop_write()
    return cpu


def main() -> None:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "stock"
    counter = Counter(count)
    cpu = stock(host, port, counter) if mode == "stock" else buffered(host, port, counter)
    elapsed = time.monotonic() - counter.first
    print(f"received {counter.received} seconds {elapsed:.3f} cpu_us_per_message {cpu / counter.received * 1e6:.2f}",
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
