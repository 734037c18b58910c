"""The edge's acknowledgement bookkeeping: an ack goes only to the delivery it belongs to, on the
connection that delivered it (the real-broker tests cover the rest of the path)."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from gateway.mqtt_edge import PAHO_SURFACE, BufferedReadClient, EdgeConfig, MqttEdge
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

    def _reused(self, count: int) -> None:
        self.reuses += count

    def connect(self) -> None:
        self.edge._on_connect(self.edge._client, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)

    def deliver(self, mid: int, dup: bool = False) -> None:
        message = paho.MQTTMessage(mid=mid, topic=b"ondol/v1/dev-1/telemetry")
        message.qos = 1
        message.dup = dup
        message.payload = b"{}"
        self.edge._on_message(self.edge._client, None, message)
        self.edge.report_reuses()  # as the read pass that brought the message does


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


# ---------------------------------------------------------------- the paho surface the edge relies on


def test_paho_still_has_the_private_surface_the_buffered_reader_relies_on() -> None:
    """Fails at once when a paho release renames or reshapes what BufferedReadClient reaches into;
    pyproject.toml pins paho to the releases this was checked with."""
    import inspect
    import time

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="surface")
    for name in PAHO_SURFACE:
        assert hasattr(client, name), f"paho.Client has no {name} any more"
    assert list(inspect.signature(paho.Client._sock_recv).parameters) == ["self", "bufsize"]
    assert "self._sock_recv(1)" in inspect.getsource(paho.Client._packet_read), "paho reads a byte at a time"
    assert "_sock_recv" in BufferedReadClient.__dict__, "the override is ours alone"
    assert paho.time_func is time.monotonic, "keepalive times are paho's monotonic clock"
    assert '"command": 0' in inspect.getsource(paho.Client._packet_read), "an idle reader has command 0"


def test_buffered_reads_hand_paho_every_packet_from_few_recv_calls(broker: BrokerAddress) -> None:
    """Against a real broker: 2,000 QoS-1 messages arrive whole and in order, read with far fewer
    socket reads than paho's three or four per packet."""
    import time

    reads = 0

    original = paho.Client._sock_recv

    def counted(self: paho.Client, bufsize: int) -> bytes:
        nonlocal reads
        reads += 1
        return original(self, bufsize)

    received: list[bytes] = []
    sub = BufferedReadClient(CallbackAPIVersion.VERSION2, client_id="buffered-sub", protocol=MQTTProtocolVersion.MQTTv311,
                   manual_ack=True)  # fmt: skip
    sub.on_message = lambda c, _u, m: (received.append(m.payload), c.ack(m.mid, m.qos))
    sub.connect(broker.host, broker.port)
    sub.subscribe("edge/test", qos=1)
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="buffered-pub")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        while not sub._sock or sub._sock.fileno() < 0:
            sub.loop(0.1)
        for _ in range(5):
            sub.loop(0.05)  # CONNACK, SUBACK
        infos = [pub.publish("edge/test", f"{i:06d}".encode() * 20, qos=1) for i in range(2000)]
        for info in infos:
            info.wait_for_publish(10)
        paho.Client._sock_recv = counted  # type: ignore[method-assign]
        deadline = time.monotonic() + 20
        while len(received) < 2000 and time.monotonic() < deadline:
            sub.loop(0.05)
            while sub.buffered():
                sub.read_available()
    finally:
        paho.Client._sock_recv = original  # type: ignore[method-assign]
        pub.loop_stop()
        pub.disconnect()
        sub.disconnect()
    assert [int(p[:6]) for p in received] == list(range(2000)), "every message, whole and in order"
    assert reads < 2000 / 10, f"{reads} socket reads for 2,000 messages"


def _publish_packet(
    topic: bytes, payload: bytes, qos: int, mid: int, *, dup: bool = False, retain: bool = False
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"") + payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (128 if length else 0))
        if not length:
            break
    return bytes([0x30 | dup << 3 | qos << 1 | retain]) + bytes(encoded) + body


def _stream(seed: int) -> tuple[bytes, list[tuple[bytes, bytes, int, int, bool, bool]]]:
    """MQTT 3.1.1 packets as a broker sends a subscriber (QoS-1 and QoS-0 messages, retained and
    redelivered ones, payloads whose length takes one to three bytes, a topic that is not UTF-8,
    PINGRESPs), with the messages they carry."""
    import random

    rng = random.Random(seed)
    data, expected = bytearray(), []
    for _ in range(400):
        if rng.random() < 0.05:
            data += b"\xd0\x00"  # PINGRESP
            continue
        topic = b"ondol/v1/dev-%d/telemetry" % rng.randrange(1000) if rng.random() > 0.02 else b"ondol/\xff/x"
        payload = bytes(rng.randrange(256) for _ in range(rng.choice((0, 5, 120, 300, 20_000))))
        qos = 1 if rng.random() < 0.9 else 0
        mid = rng.randrange(1, 65536) if qos else 0
        dup, retain = rng.random() < 0.1, rng.random() < 0.05
        data += _publish_packet(topic, payload, qos, mid, dup=dup, retain=retain)
        expected.append((topic, payload, qos, mid, dup, retain))
    return bytes(data), expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_qos1_fast_path_reads_what_paho_reads_whatever_the_packets_and_their_splits(seed: int) -> None:
    """A byte stream cut into random pieces, as TCP may deliver it: every message it carries comes out
    once, in order, with its flags, whether the fast path read it or paho did (QoS 0, a packet split
    across reads, the first packet after a refill)."""
    import random
    import socket

    data, expected = _stream(seed)
    got: list[tuple[bytes, bytes, int, int, bool, bool]] = []
    client = BufferedReadClient(CallbackAPIVersion.VERSION2, client_id="fast", protocol=MQTTProtocolVersion.MQTTv311,
                                manual_ack=True)  # fmt: skip
    client.on_message = lambda _c, _u, m: got.append(
        (m._topic, m.payload, m.qos, m.mid, bool(m.dup), bool(m.retain))
    )
    fast = 0

    def on_qos1(topic: bytes, payload: bytes, mid: int, dup: bool, retain: bool) -> None:
        nonlocal fast
        fast += 1
        got.append((topic, payload, 1, mid, dup, retain))

    client.on_qos1_publish(on_qos1)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours
    rng = random.Random(seed)
    at = 0
    try:
        while at < len(data):
            piece = rng.choice((1, 3, 17, 500, 4096, 70_000))
            theirs.sendall(data[at : at + piece])
            at += piece
            assert client.read_available() == MQTTErrorCode.MQTT_ERR_SUCCESS
        for _ in range(10):
            client.read_available()
    finally:
        ours.close()
        theirs.close()
    assert got == expected
    assert client.buffered() == 0
    assert fast > len(expected) / 3, f"the fast path read {fast} of {len(expected)}"


class _TlsRecordsInPieces:
    """A socket whose reads follow a script, as a TLS socket's do: `None` is a record not complete
    yet (`ssl.SSLWantReadError`), bytes are what the record decrypts to."""

    def __init__(self, script: list[bytes | None]) -> None:
        self.script = list(script)

    def recv(self, bufsize: int) -> bytes:
        import ssl

        step = self.script.pop(0)
        if step is None:
            raise ssl.SSLWantReadError("the TLS record is not complete")
        head, rest = step[:bufsize], step[bufsize:]
        if rest:
            self.script.insert(0, rest)
        return head

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        self.script.clear()


def _read_tls_script(client: paho.Client, script: list[bytes | None]) -> tuple[list[MQTTErrorCode], list[tuple[bytes, bytes, int]]]:  # fmt: skip
    got: list[tuple[bytes, bytes, int]] = []
    client.on_message = lambda _c, _u, m: got.append((m._topic, m.payload, m.mid))
    client._sock = _TlsRecordsInPieces(script)  # type: ignore[assignment]
    reads = script.count(None) + 1
    read = client.read_available if isinstance(client, BufferedReadClient) else client.loop_read
    return [read() for _ in range(reads)], got


@pytest.mark.parametrize("cut", [1, 2, 9, 30])
def test_a_tls_record_not_complete_inside_a_buffered_read_behaves_as_with_stock_paho(cut: int) -> None:
    """`SSLWantReadError` in the middle of a packet, buffered or not: each read returns success, what
    was read so far is kept, and the packet comes out whole, once, when the rest of the record comes."""
    packet = _publish_packet(b"ondol/v1/dev-1/telemetry", b'{"t": 1}', 1, 77)
    script: list[bytes | None] = [None, packet[:cut], None, packet[cut:]]
    stock = paho.Client(CallbackAPIVersion.VERSION2, client_id="stock", manual_ack=True)
    ours = BufferedReadClient(CallbackAPIVersion.VERSION2, client_id="ours", manual_ack=True)
    stock_rcs, stock_got = _read_tls_script(stock, script)
    our_rcs, our_got = _read_tls_script(ours, script)
    assert stock_got == our_got == [(b"ondol/v1/dev-1/telemetry", b'{"t": 1}', 77)]
    assert our_rcs == stock_rcs == [MQTTErrorCode.MQTT_ERR_SUCCESS] * 3
    assert ours.buffered() == 0
