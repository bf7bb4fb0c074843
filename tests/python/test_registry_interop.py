"""Python rpyc registry clients against our `rpyc-registry`, and an `rpyc-server` that
registers itself (`--register`), discovered and used by a plain Python client."""
import os
import shlex
import signal
import subprocess
import time

import pytest
import rpyc
from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _bin(env, default):
    cmd = shlex.split(os.environ.get(env, default))
    if not os.path.isabs(cmd[0]):
        cmd[0] = os.path.join(REPO, cmd[0])
    if not os.path.exists(cmd[0]):
        pytest.fail(f"{cmd[0]} not found: run `cargo build -p rpyc-server` first")
    return cmd


def _start(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("listening on "):
            host, port = line.split()[-1].rsplit(":", 1)
            return proc, host, int(port)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"{cmd} did not print its listening line")


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


@pytest.fixture(params=["udp", "tcp"])
def registry(request):
    cmd = _bin("RPYC_REGISTRY_BIN", "target/debug/rpyc-registry")
    proc, host, port = _start(cmd + ["--mode", request.param, "--host", "127.0.0.1", "--port", "0", "--listing"])
    client_cls = UDPRegistryClient if request.param == "udp" else TCPRegistryClient
    yield client_cls(ip=host, port=port, timeout=5)
    _stop(proc)


def test_register_discover_list_unregister(registry):
    assert registry.register(("foo", "Bar"), 18861)
    assert registry.discover("FOO") == (("127.0.0.1", 18861),)
    assert registry.discover("bar") == (("127.0.0.1", 18861),)
    assert sorted(registry.list()) == ["BAR", "FOO"]
    assert sorted(registry.list("127.0.0.1")) == ["BAR", "FOO"]
    assert registry.list("10.9.9.9") == ()
    assert registry.discover("nothing") == ()
    registry.unregister(18861)
    deadline = time.time() + 5
    while registry.discover("foo") and time.time() < deadline:  # UDP unregister is not awaited
        time.sleep(0.05)
    assert registry.discover("foo") == ()


def test_server_registers_itself_and_is_discovered():
    reg_proc, host, reg_port = _start(_bin("RPYC_REGISTRY_BIN", "target/debug/rpyc-registry") + ["--mode", "tcp", "--port", "0"])
    try:
        registry = TCPRegistryClient(ip=host, port=reg_port, timeout=5)
        srv_proc, _, srv_port = _start(_bin("RPYC_SERVER_BIN", "target/debug/rpyc-server")
                                       + ["--service", "calc", "--port", "0", "--register", f"tcp://{host}:{reg_port}"])
        try:
            deadline = time.time() + 10
            found = ()
            while not found and time.time() < deadline:
                found = registry.discover("CALCULATOR")
                time.sleep(0.05)
            assert found == (("127.0.0.1", srv_port),)
            conn = rpyc.connect(*found[0])
            assert conn.root.add(2, 3) == 5
            conn.close()
        finally:
            _stop(srv_proc)
        assert registry.discover("CALCULATOR") == (), "unregistered at shutdown"
    finally:
        _stop(reg_proc)
