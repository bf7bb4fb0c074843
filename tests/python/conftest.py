"""Shared fixtures of the Python interop suites: our binaries (`rpyc-server`,
`rpyc-registry`) run as child processes.

Commands
--------
``RPYC_SERVER_BIN`` and ``RPYC_REGISTRY_BIN`` name the commands (defaults:
``target/debug/rpyc-server`` and ``target/debug/rpyc-registry``, relative to the
repository root). They may contain arguments (split with shlex); a relative
program path containing a ``/`` is taken from the repository root.

Every process must print ``listening on HOST:PORT`` within 30 s (a reader
thread drains its stdout for its whole life, so the wait always ends on time
and the child never blocks on a full pipe) and exit with code 0 within 10 s of
SIGTERM. Its stderr goes to ``/tmp/rpyc-<name>-*.log``, deleted after a clean
shutdown and named in the failure message otherwise.
"""
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0
LISTENING_RE = re.compile(r"^listening on (\S+):(\d+)$")


def binary_command(env_var, default):
    """A command line from `env_var`, or `default` (a path relative to the
    repository root). A relative program path is taken from the repository
    root; a missing program fails the test."""
    argv = shlex.split(os.environ.get(env_var, default))
    if not argv:
        pytest.fail(f"{env_var} is empty")
    program = argv[0]
    if os.sep in program and not os.path.isabs(program):
        program = str(REPO_ROOT / program)
    if os.sep in program and not os.path.exists(program):
        pytest.fail(f"binary not found: {program} (build it with "
                    f"`cargo build -p rpyc-server`, or set {env_var})")
    return [program] + argv[1:]


def server_command():
    """The `rpyc-server` command line (RPYC_SERVER_BIN)."""
    return binary_command("RPYC_SERVER_BIN", "target/debug/rpyc-server")


def registry_command():
    """The `rpyc-registry` command line (RPYC_REGISTRY_BIN)."""
    return binary_command("RPYC_REGISTRY_BIN", "target/debug/rpyc-registry")


class ServerProcess:
    """One running server process (`name` names it in messages and its log):
    its process, address and stderr log."""

    def __init__(self, argv, name):
        self.name = name
        self.stopped = False
        fd, self.stderr_path = tempfile.mkstemp(prefix=f"rpyc-{name}-", suffix=".log")
        try:
            self.proc = subprocess.Popen(
                argv, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=fd, text=True, bufsize=1)
        except OSError as exc:
            pytest.fail(f"cannot start {argv}: {exc}")
        finally:
            os.close(fd)  # the child has its own copy
        self.stdout_lines = []
        self._listening = threading.Event()
        self.address = None
        # Keep draining stdout for the process's whole life: the wait below
        # cannot hang on a read, and the server never blocks on a full pipe.
        threading.Thread(target=self._read_stdout, daemon=True).start()
        if not self._listening.wait(STARTUP_TIMEOUT) or self.address is None:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{name}: {argv} did not print 'listening on HOST:PORT' "
                        f"(waited up to {STARTUP_TIMEOUT:.0f} s; exit code "
                        f"{self.proc.returncode}); "
                        f"stdout: {self.stdout_lines!r}; stderr:\n{self.stderr_tail()}")

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.rstrip("\r\n")
            self.stdout_lines.append(line)
            match = LISTENING_RE.match(line)
            if match and self.address is None:
                self.address = (match.group(1), int(match.group(2)))
                self._listening.set()
        self._listening.set()  # EOF: the process ended before listening

    @property
    def pid(self):
        return self.proc.pid

    def stderr_tail(self, limit=4000):
        with open(self.stderr_path, "rb") as f:
            tail = f.read()[-limit:].decode("utf-8", "replace")
        return f"[{self.stderr_path}]\n{tail}"

    def assert_alive(self):
        code = self.proc.poll()
        assert code is None, (f"the {self.name} process died (exit code {code}); "
                              f"stderr:\n{self.stderr_tail()}")

    def stop(self):
        """SIGTERM, then require a clean exit (code 0) within the timeout."""
        if self.stopped:
            return
        self.stopped = True
        self.assert_alive()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the {self.name} process did not exit within "
                        f"{SHUTDOWN_TIMEOUT:.0f} s of SIGTERM")
        assert code == 0, (f"the {self.name} process exited with code {code} on "
                           f"SIGTERM; stderr:\n{self.stderr_tail()}")
        os.unlink(self.stderr_path)  # kept (for inspection) only on failure


def _server(service):
    return ServerProcess(server_command() + ["--service", service,
                                             "--host", "127.0.0.1", "--port", "0"],
                         f"server-{service}")


@pytest.fixture(scope="session")
def rpyc_test_server():
    """`rpyc-server --service test`, for the whole session."""
    server = _server("test")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rpyc_calc_server():
    """`rpyc-server --service calc`, for the whole session."""
    server = _server("calc")
    yield server
    server.stop()


@pytest.fixture
def start_process():
    """A factory, `start_process(argv, name) -> ServerProcess`, for processes of
    one test. A test may stop one itself (`.stop()`, which checks the clean
    exit); the others are stopped, last started first, at teardown."""
    started = []

    def start(argv, name):
        proc = ServerProcess(argv, name)
        started.append(proc)
        return proc

    yield start
    failures = []
    for proc in reversed(started):
        try:
            proc.stop()
        except BaseException as exc:  # pytest.fail's exception too; stop the others first
            if proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait()
            failures.append(exc)
    if failures:
        raise failures[0]


@pytest.fixture
def start_server(start_process):
    """`start_server(*args, name="server") -> ServerProcess`: `rpyc-server args`
    for one test (see `start_process`)."""
    return lambda *args, name="server": start_process(server_command() + list(args), name)


@pytest.fixture
def start_registry(start_process):
    """`start_registry(*args, name="registry") -> ServerProcess`: `rpyc-registry
    args` for one test (see `start_process`)."""
    return lambda *args, name="registry": start_process(registry_command() + list(args), name)
