"""The floor of any Python MQTT gateway: a bare paho subscriber that acknowledges each QoS-1 message
as it arrives (manual ack, as the gateway uses) and does nothing else, over the same MQTT version as
the gateway's default (3.1.1; pass 5 to compare). Prints its CPU time per message once it has
received the expected count.

Usage: python bench/paho_floor.py HOST PORT COUNT [3.1.1|5]
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> None:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mqtt5 = len(sys.argv) > 4 and sys.argv[4] == "5"
    done = threading.Event()
    received = 0
    first = 0.0

    def on_message(client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        nonlocal received, first
        if not received:
            first = time.monotonic()
        received += 1
        client.ack(message.mid, message.qos)
        if received >= count:
            done.set()

    def on_connect(client: paho.Client, *_: Any) -> None:
        client.subscribe("ondol/v1/+/telemetry", qos=1)

    version = MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-paho-floor", protocol=version, manual_ack=True
    )
    client.on_message = on_message
    client.on_connect = on_connect
    if mqtt5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.ReceiveMaximum = 65535
        client.connect(host, port, properties=properties)
    else:
        client.connect(host, port)
    cpu0 = time.process_time()
    client.loop_start()
    print("ready", flush=True)
    done.wait()
    elapsed = time.monotonic() - first
    cpu = time.process_time() - cpu0
    client.disconnect()
    client.loop_stop()
    print(
        f"received {received} seconds {elapsed:.3f} cpu_us_per_message {cpu / received * 1e6:.2f}", flush=True
    )


if __name__ == "__main__":
    main()
