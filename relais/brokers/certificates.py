"""A private certificate authority for the broker's TLS: one CA per installation, one server certificate.

The agents trust only this CA (``ca_file`` in their bundle), not the system's list: a certificate bought
for the same name from a public CA cannot stand in for our broker. Keys are ECDSA P-256, which every
OpenSSL that Mosquitto and Python link against accepts; certificates carry the extensions that strict
verifiers (OpenSSL 3, Python 3.13's ``VERIFY_X509_STRICT``) require. Private keys are written 0600,
owned by whoever runs ``relais broker``, which is also the user our Mosquitto configs name.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from relais.files import atomic_write

CA_CERT_NAME = "ca.crt"
CA_KEY_NAME = "ca.key"
SERVER_CERT_NAME = "server.crt"
SERVER_KEY_NAME = "server.key"

CA_VALIDITY = datetime.timedelta(days=3650)
# Short enough that a leaked server key does not stay useful for ever; relais broker renews it.
SERVER_VALIDITY = datetime.timedelta(days=825)
RENEW_BEFORE = datetime.timedelta(days=30)
# Tolerates a machine whose clock is a little behind the one that made the certificate.
CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class TlsFiles:
    """What a Mosquitto TLS listener needs: the CA certificate (also for the agents), its certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_test_ca(directory: Path, common_name: str = "Relais broker CA") -> tuple[Path, Path]:
    """A new self-signed CA in ``directory``: ``(ca.crt, ca.key)``; it may sign servers, nothing below."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write_pair(Path(directory), CA_CERT_NAME, certificate, CA_KEY_NAME, key)


def make_server_cert(directory: Path, ca: tuple[Path, Path], hosts: Sequence[str]) -> tuple[Path, Path]:
    """A server certificate for ``hosts`` (IP addresses and DNS names) signed by ``ca``: ``(server.crt, server.key)``.

    Clients check the name they connect to against the subject alternative names only, so each host
    is listed there, as an IP entry or a DNS entry: ``127.0.0.1`` as a DNS name would not match.
    """
    if not hosts:
        raise ValueError("a server certificate needs at least one host name or address")
    ca_cert = x509.load_pem_x509_certificate(Path(ca[0]).read_bytes())
    ca_key = serialization.load_pem_private_key(Path(ca[1]).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca[1]}: expected the ECDSA key of a CA made by make_test_ca")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _write_pair(Path(directory), SERVER_CERT_NAME, certificate, SERVER_KEY_NAME, key)


def ensure_broker_tls(directory: Path, hosts: Sequence[str]) -> TlsFiles:
    """The broker's CA and server certificate in ``directory``, made when missing.

    The CA is kept once made, since every agent bundle carries it; the server certificate is remade
    when it would expire within ``RENEW_BEFORE`` or does not name every host in ``hosts``, which the
    agents accept without any change on their side.
    """
    folder = Path(directory).resolve()
    ca = folder / CA_CERT_NAME, folder / CA_KEY_NAME
    if not (ca[0].exists() and ca[1].exists()):
        ca = make_test_ca(folder)
    cert_file, key_file = folder / SERVER_CERT_NAME, folder / SERVER_KEY_NAME
    if not (key_file.exists() and _still_good(cert_file, hosts)):
        cert_file, key_file = make_server_cert(folder, ca, hosts)
    return TlsFiles(ca_file=ca[0], cert_file=cert_file, key_file=key_file)


def certificate_hosts(path: Path) -> set[str]:
    """The IP addresses and DNS names a certificate is valid for, as text."""
    certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n) for n in names.get_values_for_type(x509.IPAddress)} | set(
        names.get_values_for_type(x509.DNSName)
    )


def _still_good(cert_file: Path, hosts: Sequence[str]) -> bool:
    if not cert_file.exists():
        return False
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    fresh = certificate.not_valid_after_utc - _now() > RENEW_BEFORE
    return fresh and {_normal(host) for host in hosts} <= certificate_hosts(cert_file)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _normal(host: str) -> str:
    """The text ``certificate_hosts`` gives for ``host`` (``::1`` for ``0:0::1``)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_pair(
    folder: Path,
    cert_name: str,
    certificate: x509.Certificate,
    key_name: str,
    key: ec.EllipticCurvePrivateKey,
) -> tuple[Path, Path]:
    """The key readable by its owner only (0600), the certificate by anyone: it is public."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    atomic_write(folder / key_name, key_pem, mode=0o600)
    atomic_write(folder / cert_name, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return folder / cert_name, folder / key_name


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
