"""The shared client loop: what a client queued while handling its packets goes out at once."""

from __future__ import annotations

import selectors

from relais.netloop import ClientLoop, _Link


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
        sock = object()
        link = _Link(client, "127.0.0.1", 1883, 30, None, 0.5, 30.0, sock=sock)  # type: ignore[arg-type]
        loop._serve(link, sock, selectors.EVENT_READ)
        assert client.written == 1
    finally:
        loop.close()
