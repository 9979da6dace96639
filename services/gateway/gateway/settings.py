"""Settings of the gateway."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import ClassVar

from pydantic import Field, field_validator

from gateway.upstreams import parse_target
from tollgate_shared.settings import ServiceSettings


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"

    # Upstreams: one URL per service, or a comma-separated list. A URL with a host name stands for every
    # address the name resolves to (a Kubernetes headless Service: one per pod), resolved again regularly.
    billing_url: str = "http://127.0.0.1:8102"
    invoicing_url: str = "http://127.0.0.1:8103"
    upstream_resolve_interval: float = Field(default=5.0, gt=0)
    # Every endpoint's GET /readyz, this often: a failure ejects it, a pass takes it back.
    upstream_health_interval: float = Field(default=2.0, gt=0)
    upstream_health_timeout: float = Field(default=2.0, gt=0)
    # An ejected endpoint is left out this long, doubled with each failure in a row, up to the longest.
    upstream_ejection_seconds: float = Field(default=1.0, gt=0)
    upstream_ejection_max_seconds: float = Field(default=30.0, gt=0)
    # A connection to a service is reused for this long at most (a new replica gets its share).
    upstream_connection_lifetime: float = Field(default=60.0, gt=0)
    # A hosts(5)-format file read on every resolve, whose names win over DNS (replicas by hand, tests).
    upstream_hosts_file: str = ""
    # CIDRs whose X-Forwarded-For the gateway believes; empty: nobody's.
    trusted_proxies: str = ""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    upstream_connect_timeout: float = Field(default=2.0, gt=0)
    upstream_timeout: float = Field(default=30.0, gt=0)
    # Origins (scheme://host[:port], comma-separated) browsers may call the API from; empty: CORS off.
    cors_origins: str = ""
    # Sign-up, login, TOTP and refresh requests per client address and minute.
    auth_rate_per_minute: int = Field(default=30, ge=1, le=100_000)

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        # Parsed here, not first when the gateway starts: a mistake is a settings error, not a crash.
        for cidr in _split(value):
            try:
                ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR such as 10.0.0.0/8 or fd00::/8") from None
        return value

    @field_validator("auth_url", "billing_url", "invoicing_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        for url in _split(value):
            parse_target(url)
        return value

    def upstream_urls(self) -> dict[str, list[str]]:
        return {
            "auth": self.auth_urls,
            "billing": _split(self.billing_url),
            "invoicing": _split(self.invoicing_url),
        }

    def allowed_origins(self) -> frozenset[bytes]:
        return frozenset(origin.encode() for origin in _split(self.cors_origins))

    def trusted_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(cidr, strict=False) for cidr in _split(self.trusted_proxies)]
