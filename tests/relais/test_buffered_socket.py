"""paho over a buffered socket: one recv brings what paho reads in several, one send takes what it
wrote in a round; on real socket pairs, and through paho's own loop against a real broker."""

from __future__ import annotations

import queue
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from paho.mqtt.enums import CallbackAPIVersion

from relais.brokers.mosquitto import MosquittoBroker
from relais.mqtt import (
    BufferedClient,
    BufferedSocket,
    _Wakeup,
    connect_in_background,
    new_client,
    queued_together,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two connected sockets, the first non-blocking as paho's own; both closed after the test."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_paho_reads_come_from_one_recv_and_what_is_left_is_pending(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    sock = BufferedSocket(ours)
    theirs.sendall(b"\x30\x05hello\x40\x02\x00\x01")  # a PUBLISH then a PUBACK, as paho reads them
    assert (sock.recv(1), sock.recv(1), sock.recv(5)) == (b"\x30", b"\x05", b"hello")
    assert sock.pending() == 4
    assert sock.recv(1) + sock.recv(1) + sock.recv(2) == b"\x40\x02\x00\x01"
    assert sock.pending() == 0
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    theirs.close()
    assert sock.recv(1) == b""  # the end of the connection, as paho expects it


def test_writes_go_out_in_one_send_and_what_the_kernel_refuses_waits(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    sock = BufferedSocket(ours)
    assert sock.send(b"puback;") == 7 and sock.send(b"state;") == 6 and sock.send(b"events") == 6
    sock.flush()
    assert sock.unsent == 0 and theirs.recv(100) == b"puback;state;events"
    big = b"x" * 8_000_000  # more than the socket pair's buffers take at once
    sock.send(big)
    sock.flush()
    assert 0 < sock.unsent < len(big)
    received = bytearray()
    while len(received) < len(big):
        received += theirs.recv(1 << 20)
        sock.flush()
    assert received == big and sock.unsent == 0


def test_a_connection_broken_while_sending_is_told_to_paho_at_its_next_read(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    sock = BufferedSocket(ours)
    theirs.close()
    sock.send(b"state")
    sock.flush()
    assert sock.failed
    with pytest.raises(OSError):
        sock.recv(1)
    sock.close()


def test_closing_sends_the_last_packets_first(pair: tuple[socket.socket, socket.socket]) -> None:
    """paho closes its socket right after writing a DISCONNECT: the broker must get it (no last will)."""
    ours, theirs = pair
    sock = BufferedSocket(ours)
    sock.send(b"\xe0\x00")
    sock.close()
    assert theirs.recv(10) == b"\xe0\x00" and theirs.recv(10) == b""


def test_paho_s_own_loop_sends_and_reads_a_burst_through_it(broker: MosquittoBroker) -> None:
    """As the controller uses it: paho's network thread, a burst published from another thread at QoS 1,
    every PUBACK counted, every message received back in order."""
    topic = f"buffered-test/{uuid.uuid4().hex[:8]}"
    client = new_client(f"b-{uuid.uuid4().hex[:8]}", broker.url)
    assert isinstance(client, BufferedClient)
    received: queue.Queue[bytes] = queue.Queue()
    acknowledged = threading.Semaphore(0)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, message: received.put(message.payload)
    client.on_publish = lambda *_: acknowledged.release()
    connect_in_background(client, broker.url)
    try:
        assert subscribed.wait(10)
        assert isinstance(client.socket(), BufferedSocket)
        payloads = [f"schedule {n} ".encode() * 50 for n in range(500)]
        for payload in payloads:
            client.publish(topic, payload, qos=1)
        assert all(acknowledged.acquire(timeout=10) for _ in payloads)
        assert [received.get(timeout=10) for _ in payloads] == payloads
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def wakeup(pair: tuple[socket.socket, socket.socket]) -> tuple[BufferedClient, socket.socket]:
    """A client whose wake-up pipe is a real socket pair, and the end paho's thread would read."""
    reader, pipe = pair
    client = BufferedClient(CallbackAPIVersion.VERSION2)
    client._sockpairW = _Wakeup(pipe)
    return client, reader


def test_packets_queued_between_two_looks_of_the_network_thread_wake_it_once(
    wakeup: tuple[BufferedClient, socket.socket],
) -> None:
    client, reader = wakeup
    for _ in range(1000):
        client._sockpairW.send(b"0")
    assert reader.recv(4096) == b"0"
    assert not client.want_write()  # what paho's thread asks before each select
    client._sockpairW.send(b"0")
    assert reader.recv(4096) == b"0"


def test_a_batch_queued_together_wakes_paho_s_thread_once_at_its_end(
    wakeup: tuple[BufferedClient, socket.socket],
) -> None:
    client, reader = wakeup
    with queued_together(client):
        client._sockpairW.send(b"0")
        client.want_write()  # paho's thread may look meanwhile: still nothing before the end
        client._sockpairW.send(b"0")
        with pytest.raises(BlockingIOError):
            reader.recv(4096)
    assert reader.recv(4096) == b"0"


def test_one_packet_at_a_time_from_another_thread_still_wakes_paho_s_loop(broker: MosquittoBroker) -> None:
    """Each message waits for the last to come back: paho's thread is asleep in select every time."""
    topic = f"buffered-test/{uuid.uuid4().hex[:8]}"
    client = new_client(f"b-{uuid.uuid4().hex[:8]}", broker.url)
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, message: received.put(message.payload)
    connect_in_background(client, broker.url)
    try:
        assert subscribed.wait(10)
        assert isinstance(client._sockpairW, _Wakeup)
        for n in range(50):
            client.publish(topic, f"message {n}".encode(), qos=1)
            assert received.get(timeout=10) == f"message {n}".encode()
        with queued_together(client):
            for n in range(50):
                client.publish(topic, f"together {n}".encode(), qos=1)
        assert [received.get(timeout=10) for _ in range(50)] == [f"together {n}".encode() for n in range(50)]
    finally:
        client.disconnect()
        client.loop_stop()
