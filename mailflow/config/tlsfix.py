"""TLS to the mail servers, for the IMAP and the SMTP client alike: the context a
connection uses, and the fix to name when a connection fails in TLS. An untrusted
certificate wants `ca_file`; a mode that does not fit the port wants the other mode
(`ssl` from the first byte on 465/993, `starttls` on 587/25/143). The fix is text in,
text out: the SMTP sender and `check-config --connect` (IMAP too) say it the same way."""

from __future__ import annotations

import ssl
from functools import lru_cache

@lru_cache(maxsize=None)
def tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """The context for a server's certificate check. Made once per process: loading the
    CA bundle costs ~0.1 s, paid at every connection otherwise (a send pass opens
    several, a watcher reconnects); a context is meant to be shared by many."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


SMTP_PORTS = (465, (25, 587))    # implicit TLS port, ports that start plain
IMAP_PORTS = (993, (143,))


def tls_fix(where: str, security: str, port: int, error: str,
            ports: tuple[int, tuple[int, ...]] = SMTP_PORTS) -> str | None:
    """The fix for a failure whose text is `error`, or None when it is not about TLS.
    `where` names the settings section, e.g. "[smtp]"."""
    tls_port, plain_ports = ports
    plain = "/".join(str(p) for p in plain_ports)
    text = error.lower()
    if "certificate verify failed" in text or "certificate_verify_failed" in text:
        if "mismatch" in text:
            return (f"the server's certificate is for another name: set {where} host to the "
                    "name on the certificate")
        return (f"the server's certificate is not signed by a CA this machine trusts: set "
                f'{where} ca_file = "/path/to/ca.pem" to the certificate of the CA that '
                "signed it (a company CA, or the server's own for a self-signed one)")
    ssl_said = ("wrong version number" in text or "record layer" in text
                or "unknown protocol" in text or "packet length too long" in text)
    if security == "ssl" and (ssl_said or port in plain_ports):
        return (f"port {port} starts in plain text and upgrades with STARTTLS: set {where} "
                f'security = "starttls" (as on ports {plain}), or security = "ssl" with '
                f"port {tls_port}")
    if security == "starttls" and port == tls_port:
        return (f"port {tls_port} speaks TLS from the first byte: set {where} "
                f'security = "ssl" on port {tls_port}, or keep "starttls" with port '
                f"{plain_ports[-1]}")
    if security == "starttls" and "starttls" in text and "not supported" in text:
        return (f"the server offers no STARTTLS on port {port}: set {where} "
                f'security = "ssl" with port {tls_port} if the server has it')
    if security == "starttls" and ("timed out" in text or "timeout" in text):
        return (f"no greeting came; if port {port} speaks TLS from the first byte (as "
                f'{tls_port} does), set {where} security = "ssl"')
    return None
