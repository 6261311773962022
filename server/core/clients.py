"""Who is asking: the client a request's budget is charged to.

- A request with ``Authorization: Bearer <token>`` of a data steward (a write token, when tokens are
  configured) is that steward's, whatever its address: ``token:<name>``, with the stewards' budget.
  A bearer token that is not valid is refused (403), never silently charged to the address.
- Otherwise the client is its address: ``REMOTE_ADDR``, an IPv4 address as it is, an IPv6 address by
  its /64 network (one host holds a whole /64 and could otherwise change address per request).
- ``X-Forwarded-For`` is believed only when the connection comes from a configured proxy
  (``trusted_proxies``: addresses or networks): the client is then the last address in it that is
  not itself a trusted proxy (each proxy appends the address it saw; the ones to the left of the
  first untrusted hop are the client's to write, and are ignored).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from kg.changes.tokens import Tokens

IPV6_PREFIX = 64
_MEMO_LIMIT = 10_000  # addresses remembered (keys of the memo are client-controlled: bounded)


@dataclass(frozen=True)
class Client:
    key: str  # what the budget is kept under: "ip:…", "net:…/64", "token:…"
    label: str  # for a person: "address 192.0.2.1", "network 2001:db8::/64", "token aigerim"
    steward: bool = False


class Identifier:
    """Tells clients apart (see the module's docstring)."""

    def __init__(self, trusted_proxies: str = "", tokens: Tokens | None = None):
        self.proxies = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies.split())
        self.tokens = tokens if tokens is not None and tokens.configured else None
        self._by_address: dict[str, Client] = {}
        self._trusted: dict[str, bool] = {}

    def identify(self, environ: dict[str, Any]) -> Client:
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization and self.tokens is not None and authorization[:7].lower() == "bearer ":
            principal = self.tokens.authenticate(authorization)  # Forbidden when not valid
            return Client("token:" + principal.name, "token " + principal.name, steward=True)
        return self.by_address(environ)

    def by_address(self, environ: dict[str, Any]) -> Client:
        """The client by its address alone (its token, if any, not looked at)."""
        address = environ.get("REMOTE_ADDR") or "unknown"
        if self.proxies and self._is_trusted(address):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            address = self._forwarded_client(forwarded) or address
        return self._client_of(address)

    def _forwarded_client(self, header: str) -> str | None:
        hops = [h.strip() for h in header.split(",") if h.strip()]
        for hop in reversed(hops):
            if not _valid(hop):
                return None  # malformed: the proxy's own address stands
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else None

    def _is_trusted(self, address: str) -> bool:
        known = self._trusted.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
                known = any(ip in network for network in self.proxies)
            except ValueError:
                known = False
            if len(self._trusted) > _MEMO_LIMIT:
                self._trusted.clear()
            self._trusted[address] = known
        return known

    def _client_of(self, address: str) -> Client:
        client = self._by_address.get(address)
        if client is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                client = Client("ip:" + address, "address " + address)
            else:
                mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
                if isinstance(ip, ipaddress.IPv6Address) and mapped is None:
                    network = ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False)
                    client = Client(f"net:{network}", f"network {network}")
                else:
                    plain = str(mapped or ip)
                    client = Client("ip:" + plain, "address " + plain)
            if len(self._by_address) > _MEMO_LIMIT:
                self._by_address.clear()
            self._by_address[address] = client
        return client


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
