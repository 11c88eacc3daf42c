"""Where the controller's webhooks may go: public addresses, and the private networks an administrator
names. A commune editor may add a webhook; without this, its URL could make the controller call the
services next to it (its own API on loopback, an intranet, a cloud's metadata address) and read, in the
delivery log, whether they answer."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(ValueError):
    """A webhook address the controller will not call: an English template and its values, as the API's
    refusals are, for the delivery log and the API's 400 on ``url``."""

    def __init__(self, template: str, **params: str) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Destinations:
    """``private``: the networks besides public addresses that webhooks may reach (loopback for a demo
    or tests, an intranet's receiver)."""

    private: tuple[Network, ...] = ()

    @classmethod
    def of(cls, networks: Sequence[str]) -> Destinations:
        return cls(tuple(ipaddress.ip_network(network, strict=False) for network in networks))

    def check(self, url: str, *, unknown_ok: bool = False) -> None:
        """Refuse ``url`` unless each address its host resolves to may be called. Made at each delivery
        (a name may be pointed elsewhere after the webhook was added) and when one is added, where a
        name not found yet (``unknown_ok``) is let through: its deliveries will say so."""
        try:
            host = urlsplit(url).hostname
        except ValueError:  # "http://[::1": a bracket not closed
            host = None
        if not host:
            raise DestinationRefused("{url} names no host", url=url)
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except (OSError, ValueError):  # not found; or not a name at all (a label over 63 characters)
            if unknown_ok:
                return
            raise DestinationRefused("{host} is not found (DNS)", host=host) from None
        for text in sorted(found):
            address = ipaddress.ip_address(str(text).split("%")[0])
            if not address.is_global and not any(address in network for network in self.private):
                raise DestinationRefused(
                    "{host} is a private or local address ({address}): webhooks go to public addresses "
                    "and to the private networks the administrator names",
                    host=host,
                    address=str(address),
                )


PUBLIC_ONLY = Destinations()
