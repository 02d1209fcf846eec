"""Real servers for the tests: a private Dovecot on loopback ports, and helpers to put
mail into any IMAP server the way a delivering MTA would (APPEND with INTERNALDATE)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient

from mailflow.testing.embedded import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailflow-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
imap_id_log = *
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def make_cert(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 and localhost; also the CA to trust."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert


def server_env() -> dict[str, str]:
    """The environment for Dovecot and PostgreSQL: this one without libfaketime.

    scripts/test.sh runs the suite under a faked clock to prove that mailflow reads no
    wall clock; the servers are not what is under test, and the faked clock only
    disturbs them (Dovecot restarted under it left the fault tests' clients waiting out
    their socket timeouts). Nothing they keep is judged by date: mail is appended with
    its INTERNALDATE, and the database stores the times mailflow gives it. openssl stays
    on the faked clock: the certificate it writes must be valid at the clients' time."""
    env = dict(os.environ)
    preload = [p for p in env.pop("LD_PRELOAD", "").replace(":", " ").split()
               if "libfaketime" not in p]
    if preload:
        env["LD_PRELOAD"] = " ".join(preload)
    for name in [n for n in env if n.startswith("FAKETIME")]:
        del env[name]
    return env


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def dovecot_root() -> Path:
    """A fresh folder that Dovecot's unprivileged processes can reach (pytest's own
    temporary folders are private to the user that runs the tests)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mailflow-dovecot-"))
    os.chmod(root, 0o755)
    return root


@dataclass
class Dovecot:
    root: Path = field(default_factory=dovecot_root)
    port: int = 0
    ssl_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    def start(self) -> "Dovecot":
        if not os.path.exists(DOVECOT):
            raise RuntimeError("Dovecot is not installed: run scripts/test.sh, which installs "
                               "Debian's dovecot-imapd, or `apt-get install dovecot-imapd`")
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        if not self.cert.exists():
            make_cert(self.root)
        self.port = self.port or free_port()
        self.ssl_port = self.ssl_port or free_port()
        if os.geteuid() == 0:
            # Dovecot will not run mail processes as root; mail is owned by nobody.
            uid, gid, internal, login = 65534, 65534, "dovecot", "dovenull"
            os.chmod(self.root, 0o755)
            os.chmod(self.root / "mail", 0o777)
        else:
            uid, gid = os.getuid(), os.getgid()
            import pwd
            internal = login = pwd.getpwuid(uid).pw_name
        conf = self.root / "dovecot.conf"
        conf.write_text(CONF.format(root=self.root, port=self.port, ssl_port=self.ssl_port,
                                    uid=uid, gid=gid, internal=internal, login=login))
        self._write_passwd()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], env=server_env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
            wait_port(self.ssl_port)
        except RuntimeError:
            self.stop()
            log = (self.root / "dovecot.log").read_text(errors="replace") if \
                (self.root / "dovecot.log").exists() else ""
            raise RuntimeError(f"Dovecot did not start: {log[-2000:]}") from None
        return self

    def _write_passwd(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        lines = [f"{u}:{{PLAIN}}{p}::::::" for u, p in self.users.items()]
        (self.root / "passwd").write_text("\n".join(lines) + "\n")

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password
        self._write_passwd()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def crash(self) -> None:
        """The server dies at once, with every client session (SIGKILL to the master and
        all its children), as a machine or container going away would."""
        if self.proc is None:
            return
        victims = [self.proc.pid]
        for pid in victims:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            victims.extend(int(c) for c in children)
        for pid in reversed(victims):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None


def imap_login(host: str, port: int, user: str, password: str) -> IMAPClient:
    client = IMAPClient(host, port=port, ssl=False, timeout=15)
    client._imap.debug = 0
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(user, password)
    return client


def deliver(client: IMAPClient, folder: str, raw: bytes, received: datetime) -> int:
    """APPEND a mail with the INTERNALDATE a delivering server would have given it."""
    if received.tzinfo is None:
        raise ValueError("received must be aware")
    if not client.folder_exists(folder):
        client.create_folder(folder)
    resp = client.append(folder, raw, (), received)
    text = resp.decode() if isinstance(resp, bytes) else str(resp)
    try:
        return int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))
    except (IndexError, ValueError):
        return 0


class Recorder:
    """An aiosmtpd handler that keeps what it accepts and can be told to misbehave.

    `fail_next` holds SMTP replies to give to the next DATA commands (e.g. "451 try
    later", "554 rejected"); `refuse` maps recipient addresses to RCPT replies.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.fail_next: list[str] = []
        self.refuse: dict[str, str] = {}
        self.drop_data = False
        self.slow_rcpt: dict[str, float] = {}   # address → seconds before its RCPT reply
        self.quit_fails = False
        self.connections = 0

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        if self.quit_fails:
            server.transport.abort()   # the connection drops instead of "221 Bye"
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.slow_rcpt:
            await asyncio.sleep(self.slow_rcpt[address])
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.drop_data:
            session.transport.close()
            return "421 closing"
        if self.fail_next:
            return self.fail_next.pop(0)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list:
        from email import message_from_bytes
        from email.policy import default
        return [message_from_bytes(raw, policy=default) for _, _, raw in self.messages]


class SmtpServer:
    """aiosmtpd's Controller on a free loopback port, with a Recorder; `tls` is None,
    "ssl" (implicit TLS, as on port 465) or "starttls" (required, as on port 587)."""

    def __init__(self, tls: str | None = None, cert_dir: Path | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller

        self.recorder = Recorder()
        self.port = free_port()
        kwargs: dict = {}
        self.cert: Path | None = None
        if tls:
            folder = cert_dir or dovecot_root()
            self.cert = folder / "cert.pem"
            if not self.cert.exists():
                make_cert(folder)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert), str(folder / "key.pem"))
            if tls == "ssl":
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


PG_BIN = Path("/usr/lib/postgresql")


@dataclass
class Postgres:
    """A private PostgreSQL cluster (Debian's postgresql) on a free loopback port."""

    root: Path = field(default_factory=dovecot_root)
    port: int = 0
    user: str = "postgres"

    def _bin(self, name: str) -> str:
        found = sorted(PG_BIN.glob(f"*/bin/{name}"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed: run scripts/test.sh, which installs "
                               "Debian's postgresql, or `apt-get install postgresql`")
        return str(found[-1])

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120, env=server_env())

    def start(self) -> "Postgres":
        import pwd

        self.port = self.port or free_port()
        data = self.root / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        else:
            self.user = pwd.getpwuid(os.getuid()).pw_name
        self._run(self._bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self._run(self._bin("pg_ctl"), "-D", str(data), "-l", str(self.root / "pg.log"), "-w",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=200", "start")
        return self

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(self._bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop")
        except (subprocess.CalledProcessError, RuntimeError):
            pass


class FreezingProxy:
    """A TCP proxy to a loopback server that can go silent: after freeze(), the
    connections open at that moment stay open but carry nothing either way (a NAT or
    firewall that dropped the flow); new connections pass normally."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.frozen: set[int] = set()
        self.connections: list[tuple[socket.socket, socket.socket]] = []
        self._threading = threading
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections.append((client, upstream))
            key = id(client)
            for src, dst in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pump, args=(src, dst, key),
                                       daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, key: int) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if key in self.frozen:
                continue           # swallowed: the far side hears nothing
            try:
                dst.sendall(data)
            except OSError:
                return

    def freeze(self) -> None:
        self.frozen.update(id(c) for c, _ in self.connections)

    def close(self) -> None:
        self.listener.close()
        for a, b in self.connections:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
