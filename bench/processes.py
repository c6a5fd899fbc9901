"""The processes the benchmark runner starts: phase children, ``chroma run`` servers, and what it
measures of them from outside (peak memory, disk)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.corpus import REPO


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def child_env() -> dict[str, str]:
    """The environment of every child process: no developer TINBOT_* settings, no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINBOT_")}
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # OpenMP threads that spin while waiting (libgomp's default) make the model 10x slower on
    # cores shared with other processes; see the README's benchmark notes.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


class PeakSampler:
    """Samples the RSS of a process every 50 ms; a cross-check of the child's own ru_maxrss."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                rss = self._process.memory_info().rss / 2**20
            except psutil.Error:
                return
            self.peak_mb = max(self.peak_mb, round(rss, 1))
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run_child(system: str, action: str, spec: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    spec_file = run_dir / f"{system}-{action}.spec.json"
    result_file = run_dir / f"{system}-{action}.result.json"
    log_file = run_dir / f"{system}-{action}.log"
    spec_file.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-m", "bench.run", "--phase", f"{system}:{action}"]
    command += ["--spec", str(spec_file), "--result", str(result_file)]
    with open(log_file, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=out, stderr=out)
        sampler = PeakSampler(child.pid)
        code = child.wait()
        sampled = sampler.stop()
        wall = time.perf_counter() - started
    if code != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{system} {action} failed (exit {code}):\n{tail}")
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result["process_s"] = round(wall, 2)
    result["peak_rss_sampled_mb"] = sampled
    # Kept with the result so a later --query-only run can reuse the ingest figures.
    result_file.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A ``chroma run`` subprocess on 127.0.0.1, for server-mode runs (and tests)."""

    def __init__(self, path: Path, *, timeout: float = 60.0, port: int | None = None) -> None:
        import httpx

        self.path = path
        self.port = port or free_port()  # a port again: the same server restarted
        self.url = f"http://127.0.0.1:{self.port}"
        chroma = Path(sys.executable).with_name("chroma")
        command = [str(chroma) if chroma.exists() else "chroma", "run"]
        command += ["--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)]
        path.mkdir(parents=True, exist_ok=True)
        self._log = open(path.parent / f"{path.name}.log", "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=child_env()
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not answer on {self.url} in {timeout:.0f}s")
            time.sleep(0.2)

    def rss_mb(self) -> float:
        import psutil

        try:
            return round(psutil.Process(self.process.pid).memory_info().rss / 2**20, 1)
        except psutil.Error:
            return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def du_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 2**20, 1)
