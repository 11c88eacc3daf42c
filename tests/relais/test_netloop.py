"""The shared client loop: what a client queued while handling its packets goes out at once."""

from __future__ import annotations

import queue
import selectors
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
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


def test_what_timers_and_other_threads_publish_goes_out(broker: MosquittoBroker) -> None:
    """Publications made outside a read (a rotation's timer, another thread) are sent in the same round,
    without the loop waiting for the socket to be writable first."""
    topic = f"netloop-test/{uuid.uuid4().hex[:8]}"
    received: queue.Queue[bytes] = queue.Queue()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"w-{uuid.uuid4().hex[:8]}")
    watcher.on_message = lambda _c, _u, message: received.put(message.payload)
    subscribed = threading.Event()
    watcher.on_subscribe = lambda *_args: subscribed.set()
    watcher.connect("127.0.0.1", broker.port)
    watcher.loop_start()
    loop = ClientLoop()
    try:
        watcher.subscribe(topic, qos=1)
        assert subscribed.wait(5)
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
        watcher.disconnect()
        watcher.loop_stop()
