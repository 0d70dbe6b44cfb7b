"""TLS for the HTTPS server: the admin's certificate, or a self-signed one that stays in memory."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_pem(host: str) -> tuple[bytes, bytes]:
    """A fresh certificate and key (PEM) for `host`, localhost and 127.0.0.1, valid 30 days."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {"127.0.0.1", "::1"}
    try:
        ipaddress.ip_address(host)
        addresses.add(host)
    except ValueError:
        names.append(x509.DNSName(host))
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Quietroom")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _memory_file(name: str, data: bytes) -> int:
    """An anonymous in-memory file (Linux memfd): ssl only loads certificates from paths."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    return fd


def server_context(cert_file: str, key_file: str, host: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
        return context
    cert_pem, key_pem = self_signed_pem(host)
    fds = [_memory_file("cert", cert_pem), _memory_file("key", key_pem)]
    try:
        context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            os.close(fd)
    return context


def reload_certificate(context: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    """Load a renewed certificate into the running context: new connections get it, open
    ones keep theirs. Raises OSError or ssl.SSLError if the files cannot be used (the
    previous certificate then stays)."""
    fresh = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    fresh.load_cert_chain(cert_file, key_file)  # checked apart first: a bad pair changes nothing
    context.load_cert_chain(cert_file, key_file)
