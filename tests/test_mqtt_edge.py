"""The edge's acknowledgement bookkeeping: an ack goes only to the delivery it belongs to, on the
connection that delivered it (the real-broker tests cover the rest of the path)."""

from __future__ import annotations

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from gateway.mqtt_edge import EdgeConfig, MqttEdge
from protocol.broker import BrokerAddress


class Edge:
    def __init__(self) -> None:
        self.notified = 0
        self.reuses = 0
        self.edge = MqttEdge(
            EdgeConfig(BrokerAddress("127.0.0.1", 1), "unit-edge"), self._notify, on_id_reuse=self._reused
        )
        self.acked: list[int] = []

        def ack(mid: int, qos: int) -> MQTTErrorCode:
            self.acked.append(mid)
            return MQTTErrorCode.MQTT_ERR_SUCCESS

        self.edge._client.ack = ack  # type: ignore[method-assign]

    def _notify(self) -> None:
        self.notified += 1

    def _reused(self) -> None:
        self.reuses += 1

    def connect(self) -> None:
        self.edge._on_connect(self.edge._client, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)

    def deliver(self, mid: int, dup: bool = False) -> None:
        message = paho.MQTTMessage(mid=mid, topic=b"ondol/v1/dev-1/telemetry")
        message.qos = 1
        message.dup = dup
        message.payload = b"{}"
        self.edge._on_message(self.edge._client, None, message)


def test_committed_messages_are_acknowledged_once() -> None:
    e = Edge()
    e.connect()
    e.deliver(1)
    e.deliver(2)
    taken = e.edge.take(10)
    assert e.edge.ack(taken) == 2
    assert e.edge.ack(taken) == 0, "a second ack of the same deliveries sends nothing"
    assert e.acked == [1, 2]
    assert e.notified == 1, "the asyncio side is woken when the backlog goes from empty to not"


def test_deliveries_of_a_previous_connection_are_never_acknowledged_on_the_next() -> None:
    e = Edge()
    e.connect()
    e.deliver(5)
    old = e.edge.take(10)
    e.connect()  # reconnect: the broker will redeliver id 5 on this connection
    assert e.edge.ack(old) == 0
    e.deliver(5, dup=True)
    redelivered = e.edge.take(10)
    assert e.edge.ack(redelivered) == 1
    assert e.acked == [5]


def test_two_messages_sharing_an_id_are_each_acknowledged_oldest_first() -> None:
    """Mosquitto numbers messages as it queues them: with more than 65,535 queued, an id comes again
    while its first message is unacknowledged. Each needs its own PUBACK, and the broker releases the
    older one on the first, so a newer one committed first must wait for the older."""
    e = Edge()
    e.connect()
    e.deliver(9)
    first = e.edge.take(10)
    e.deliver(9)
    second = e.edge.take(10)
    assert e.edge.ack(second) == 0, "the older message with this id is not committed yet"
    assert e.acked == []
    assert e.edge.ack(first) == 2, "now both go, one PUBACK each"
    assert e.acked == [9, 9]
    assert e.edge.ack(first + second) == 0, "and never again"
    assert e.reuses == 1, "the second delivery of id 9 is counted as a reuse"


def test_in_order_commits_of_a_shared_id_are_acknowledged_as_they_come() -> None:
    e = Edge()
    e.connect()
    e.deliver(7)
    e.deliver(7)
    e.deliver(8)
    first, second, third = e.edge.take(10)
    assert e.edge.ack([first]) == 1
    assert e.edge.ack([third, second]) == 2
    assert e.acked == [7, 8, 7]
