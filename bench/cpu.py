"""CPU seconds spent by each process of the stack, the broker and the database server.

Processes are found by what they are: the services by the stack's pids, the broker as the
``beam.smp`` process, the database server as whoever listens on the Mongo URL's port. The
broker may be shared with other work on the machine; its figure is an upper bound.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import psutil


def listener_pid(port: int) -> int | None:
    """The pid of the process listening on TCP ``port`` on this machine, if visible."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid is not None else None
    except psutil.AccessDenied:
        pass
    for proc in psutil.process_iter(["pid"]):
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                    return int(proc.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return None


def broker_pid() -> int | None:
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["name"] == "beam.smp":
            return int(proc.info["pid"])
    return None


class CpuMeter:
    """Reads user+system CPU seconds of named processes (every instance of a service summed);
    ``delta`` since the last ``mark``."""

    def __init__(self, service_pids: dict[str, list[int]], mongo_url: str) -> None:
        pids: dict[str, list[int]] = dict(service_pids)
        for name, pid in (("broker", broker_pid()),
                          ("database", listener_pid(urlsplit(mongo_url).port or 27017))):
            if pid is not None:
                pids[name] = [pid]
        self.processes = {name: [psutil.Process(pid) for pid in group]
                          for name, group in pids.items()}
        self._marked = self.read()

    def read(self) -> dict[str, float]:
        seconds = {}
        for name, group in self.processes.items():
            seconds[name] = 0.0
            for proc in group:
                try:
                    times = proc.cpu_times()
                    seconds[name] += times.user + times.system
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        return seconds

    def mark(self) -> None:
        self._marked = self.read()

    def delta(self) -> dict[str, float]:
        now = self.read()
        return {name: round(now[name] - self._marked.get(name, 0.0), 3) for name in now}
