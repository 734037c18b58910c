"""Certificates for the local stack's TLS listener: a private CA, a server certificate for loopback,
and (for mutual TLS) device certificates whose common name is the device id.

Made with the `openssl` command line, which every Debian machine has, so the project needs no
cryptography library of its own. Keys are written 0600; nothing here is meant for a public network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["CertificateAuthority", "TlsError", "TlsFiles"]

_DAYS: Final = "825"
"""Just over two years, the longest lifetime clients commonly accept for a server certificate."""


class TlsError(RuntimeError):
    """openssl is missing or refused to make a certificate."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A certificate, its key, and the CA that signed it (PEM files)."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise TlsError("openssl is not installed; run the system set-up first")
    # Keys are born readable by their owner only (umask 077), not chmod-ed afterwards.
    result = subprocess.run([binary, *args], capture_output=True, check=False, umask=0o077)
    if result.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {result.stderr.decode(errors='replace')[-1000:]}")


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA kept in `directory` (created on first use, reused afterwards)."""

    directory: Path

    @property
    def cert_file(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def key_file(self) -> Path:
        return self.directory / "ca.key"

    def ensure(self) -> CertificateAuthority:
        if self.cert_file.exists() and self.key_file.exists():
            return self
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(self.key_file))
        os.chmod(self.key_file, 0o600)
        _openssl("req", "-x509", "-new", "-key", str(self.key_file), "-sha256", "-days", _DAYS,
                 "-subj", "/O=Ondol local stack/CN=Ondol local CA", "-out", str(self.cert_file),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
        return self

    def server_certificate(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
        """A server certificate valid for `hosts` (IP addresses and DNS names)."""
        alt = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}" for h in hosts)
        return self._issue(name, f"/CN={hosts[0]}", f"subjectAltName={alt}", "extendedKeyUsage=serverAuth")

    def client_certificate(self, common_name: str) -> TlsFiles:
        """A client certificate whose common name the broker takes as the username (mutual TLS)."""
        return self._issue(common_name, f"/CN={common_name}", "extendedKeyUsage=clientAuth")

    def _issue(self, name: str, subject: str, *extensions: str) -> TlsFiles:
        self.ensure()
        files = TlsFiles(self.directory / f"{name}.crt", self.directory / f"{name}.key", self.cert_file)
        if files.cert_file.exists() and files.key_file.exists():
            return files
        request = self.directory / f"{name}.csr"
        extfile = self.directory / f"{name}.ext"
        extfile.write_text("\n".join(extensions) + "\n")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(files.key_file))
        os.chmod(files.key_file, 0o600)
        _openssl("req", "-new", "-key", str(files.key_file), "-subj", subject, "-out", str(request))
        _openssl("x509", "-req", "-in", str(request), "-CA", str(self.cert_file), "-CAkey", str(self.key_file),
                 "-CAcreateserial", "-sha256", "-days", _DAYS, "-extfile", str(extfile),
                 "-out", str(files.cert_file))  # fmt: skip
        request.unlink()
        extfile.unlink()
        return files
