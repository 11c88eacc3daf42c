"""The shared client loop: what a client queued while handling its packets goes out at once."""

from __future__ import annotations

import os
import queue
import resource
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from relais.brokers.mosquitto import MosquittoBroker
from relais.mqtt import new_client
from relais.netloop import BufferedSocket, ClientLoop, _Link


class QueuingClient:
    """Stands in for paho: reading a packet queues an answer (a PUBACK, an agent's state and events)."""

    def __init__(self) -> None:
        self.queued = 0
        self.written = 0

    def loop_read(self) -> None:
        self.queued += 1

    def want_write(self) -> bool:
        return self.queued > self.written

    def loop_write(self) -> None:
        self.written = self.queued


def test_answers_are_written_after_each_read_not_at_the_next_round() -> None:
    loop = ClientLoop()
    try:
        client = QueuingClient()
        ours, theirs = socket.socketpair()
        sock = BufferedSocket(ours)
        link = _Link(client, "127.0.0.1", 1883, 30, None, 0.5, 30.0, sock=sock)  # type: ignore[arg-type]
        loop._serve(link, sock, selectors.EVENT_READ)
        assert client.written == 1
    finally:
        loop.close()
        ours.close()
        theirs.close()


@contextmanager
def watching(broker: MosquittoBroker, topic: str) -> Iterator[queue.Queue[bytes]]:
    """What is published on ``topic`` while the block runs, seen by a client of paho's own loop."""
    received: queue.Queue[bytes] = queue.Queue()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"w-{uuid.uuid4().hex[:8]}")
    watcher.on_message = lambda _c, _u, message: received.put(message.payload)
    subscribed = threading.Event()
    watcher.on_subscribe = lambda *_args: subscribed.set()
    watcher.connect("127.0.0.1", broker.port)
    watcher.loop_start()
    try:
        watcher.subscribe(topic, qos=1)
        assert subscribed.wait(5)
        yield received
    finally:
        watcher.disconnect()
        watcher.loop_stop()


def test_what_timers_and_other_threads_publish_goes_out(broker: MosquittoBroker) -> None:
    """Publications made outside a read (a rotation's timer, another thread) are sent in the same round,
    without the loop waiting for the socket to be writable first."""
    topic = f"netloop-test/{uuid.uuid4().hex[:8]}"
    loop = ClientLoop()
    with watching(broker, topic) as received:
        try:
            client = new_client(f"l-{uuid.uuid4().hex[:8]}", broker.url)
            loop.add(client, broker.url)
            assert loop.run(until=client.is_connected, timeout=10)
            loop.call_at(time.monotonic(), lambda: client.publish(topic, b"from a timer", qos=1))
            assert loop.run(until=lambda: not received.empty(), timeout=10)
            assert received.get_nowait() == b"from a timer"

            def publish_and_wake() -> None:
                client.publish(topic, b"from another thread", qos=1)
                loop.wake()

            threading.Thread(target=publish_and_wake).start()
            assert loop.run(until=lambda: not received.empty(), timeout=10)
            assert received.get_nowait() == b"from another thread"
        finally:
            loop.close()


def test_a_client_whose_socket_is_past_descriptor_1024_is_served(broker: MosquittoBroker) -> None:
    """``select()`` fails past descriptor 1,024, which a fleet process of hundreds of panels (a socket
    each, and their files) reaches: the loop's epoll serves a client whose socket is numbered beyond."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2048 if hard == resource.RLIM_INFINITY else min(2048, hard)
    if wanted < 1100:
        pytest.skip(f"this machine allows {hard} open files, not enough to go past 1,024")
    topic = f"netloop-test/{uuid.uuid4().hex[:8]}"
    fillers: list[int] = []
    loop = ClientLoop()
    with watching(broker, topic) as received:  # paho's own loop, on a descriptor below 1,024
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
        try:
            while not fillers or fillers[-1] < 1024:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            client = new_client(f"l-{uuid.uuid4().hex[:8]}", broker.url)
            loop.add(client, broker.url)
            assert loop.run(until=client.is_connected, timeout=10)
            assert client.socket().fileno() > 1024
            client.publish(topic, b"past 1,024", qos=1)
            assert loop.run(until=lambda: not received.empty(), timeout=10)
            assert received.get_nowait() == b"past 1,024"
        finally:
            loop.close()
            for descriptor in fillers:
                os.close(descriptor)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
