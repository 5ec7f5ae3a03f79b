"""nginx from Debian's packages as the cluster's load balancer: installed with apt-get when missing,
run in the foreground from a config of our own in a temporary prefix (no system service touched).

The upstream block is what docs/scaling.md recommends: round robin over the nodes, a node that
refuses or drops connections is skipped for `fail_timeout`, and a request nginx could not send to a
node (connection refused) goes to the next one. A POST already sent to a node that then died is not
re-sent by nginx (`proxy_next_upstream` leaves non-idempotent requests alone): the client retries
with the same Idempotency-Key, and the app answers the retry with the first reply or makes the order.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests

CONFIG = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream omnishop {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://omnishop;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def ensure_installed() -> str:
    """The nginx binary, installing Debian's package first if there is none (says so)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("nginx is missing: installing Debian's package (apt-get install nginx-light or nginx)", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)  # noqa: S607
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],  # noqa: S607
                   check=True, env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return shutil.which("nginx") or "/usr/sbin/nginx"


def render(prefix: Path, port: int, upstreams: list[str]) -> str:
    servers = "\n".join(f"        server {url.removeprefix('http://')} max_fails=1 fail_timeout=5s;"
                        for url in upstreams)
    return CONFIG.format(prefix=prefix, port=port, servers=servers)


def start(binary: str, prefix: Path, port: int, upstreams: list[str]) -> subprocess.Popen:
    """nginx in the foreground (its own process group, so SIGTERM reaches its workers); once it answers."""
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render(prefix, port, upstreams))
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf)],  # noqa: S603
                            stdout=(prefix / "stdout.log").open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{(prefix / 'error.log').read_text(errors='replace')}") \
                    from None
            time.sleep(0.2)
