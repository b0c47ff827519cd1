"""Worker processes (``tests.serve_fake``) and an nginx in front of them, for the security, proxy and
load tests.  Each runs on free ports with its files under a temporary folder and is stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.browser import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"


@dataclass
class Worker:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    worker_id: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Stop it hard (SIGKILL), as a crashed box would."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(tmp: Path, env: dict[str, str] | None = None, worker_id: str = "",
                 port: int | None = None, timeout_s: float = 90.0) -> Worker:
    """``python -m tests.serve_fake`` on a free port; waits for /healthz."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / f"worker-{worker_id or port}.log"
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp), **(env or {})}
    if worker_id:
        full_env["EMOTION_AGENT_WORKER_ID"] = worker_id
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.serve_fake", "--port", str(port)], cwd=ROOT,
                                env=full_env, stdout=out, stderr=subprocess.STDOUT)
    worker = Worker(port, proc, log, worker_id, env or {})
    deadline = time.monotonic() + timeout_s
    while True:
        if not worker.alive():
            raise RuntimeError(f"worker exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(worker.url + "/healthz", timeout=2).status_code == 200:
                return worker
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@dataclass
class Nginx:
    port: int
    proc: subprocess.Popen[bytes]
    conf: Path
    prefix: Path

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def nginx_missing() -> str | None:
    if not Path(NGINX).exists():
        return "nginx not found (apt-get install -y nginx-light, or WITH_PROXY=1 bash scripts/setup.sh)"
    return None


def render_nginx_conf(listen: int, workers: dict[str, int], prefix: Path) -> str:
    """``deploy/nginx.conf`` for a test: the same maps, log format and server block, with the parts
    between its ``@@`` markers swapped for our ports (no TLS, no port-80 redirect), wrapped in a main
    configuration that runs in the foreground with its files under ``prefix``."""
    import re

    text = DEPLOY_CONF.read_text()
    body = text.split("# ---- BEGIN http ----", 1)[1].split("# ---- END http ----", 1)[0]
    upstreams = "".join(f"upstream {name} {{ server 127.0.0.1:{port} max_fails=1 fail_timeout=5s; }}\n"
                        for name, port in workers.items())
    upstreams += "upstream emotion_agent_pool {\n" + "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in workers.values()) + "}\n"
    parts = {
        "ROUTES": "".join(f"    {name} {name};\n" for name in workers),
        "UPSTREAMS": upstreams,
        "REDIRECT": "",
        "TLS": f"listen 127.0.0.1:{listen};\n    server_name localhost;\n    access_log {prefix}/access.log privacy;\n",
    }
    for name, repl in parts.items():
        body, n = re.subn(rf"# @@{name}-BEGIN.*?# @@{name}-END", repl.replace("\\", "\\\\"), body, flags=re.S)
        assert n == 1, name
    return f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
  client_body_temp_path {prefix}/client_body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
{body}
}}
"""


def start_nginx(tmp: Path, workers: dict[str, int], port: int | None = None) -> Nginx:
    port = port or free_port()
    prefix = tmp / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx_conf(port, workers, prefix))
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}\n{conf.read_text()}")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Nginx(port, proc, conf, prefix)
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text()}") from None
            time.sleep(0.1)


TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
DEPLOY_TURN = ROOT / "deploy" / "turnserver.conf"


@dataclass
class Coturn:
    port: int
    proc: subprocess.Popen[bytes]
    conf: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def coturn_missing() -> str | None:
    if not Path(TURNSERVER).exists():
        return "coturn not found (apt-get install -y coturn, or WITH_PROXY=1 bash scripts/setup.sh)"
    return None


def start_coturn(tmp: Path, secret: str) -> Coturn:
    """``deploy/turnserver.conf`` on a free local port: no TLS (no certificate here), its pid and log
    under ``tmp``, a narrow relay port range, the given shared secret; every other line as shipped."""
    import re

    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    relay = 50_000 + port % 10_000
    text = re.sub(r"^(cert|pkey|tls-listening-port|log-file|min-port|max-port)=.*$", "", DEPLOY_TURN.read_text(),
                  flags=re.M)
    text = text.replace("listening-port=3478", f"listening-port={port}\nlistening-ip=127.0.0.1\nno-tls\nno-dtls\n"
                        f"pidfile={tmp}/turn.pid\nlog-file={tmp}/turn.log\nmin-port={relay}\nmax-port={relay + 40}")
    text = re.sub(r"^static-auth-secret=.*$", f"static-auth-secret={secret}", text, flags=re.M)
    conf = tmp / "turnserver.conf"
    conf.write_text(text)
    proc = subprocess.Popen([TURNSERVER, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Coturn(port, proc, conf)
    deadline = time.monotonic() + 10
    while not list(tmp.glob("turn*.log")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError(f"turnserver exited ({proc.returncode})")
    return server
