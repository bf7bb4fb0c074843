"""Python rpyc registry clients against our `rpyc-registry`, and an `rpyc-server` that
registers itself (`--register`), discovered and used by a plain Python client.

The processes come from the `start_registry` / `start_server` fixtures (conftest.py):
RPYC_REGISTRY_BIN and RPYC_SERVER_BIN name the binaries."""
import time

import pytest
import rpyc
from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient


@pytest.fixture(params=["udp", "tcp"])
def registry(request, start_registry):
    reg = start_registry("--mode", request.param, "--host", "127.0.0.1", "--port", "0",
                         "--listing", name=f"registry-{request.param}")
    host, port = reg.address
    client_cls = UDPRegistryClient if request.param == "udp" else TCPRegistryClient
    return client_cls(ip=host, port=port, timeout=5)


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


def test_server_registers_itself_and_is_discovered(start_registry, start_server):
    reg = start_registry("--mode", "tcp", "--port", "0", name="registry-tcp")
    host, reg_port = reg.address
    registry = TCPRegistryClient(ip=host, port=reg_port, timeout=5)
    srv = start_server("--service", "calc", "--port", "0", "--register", f"tcp://{host}:{reg_port}",
                       name="server-calc-registered")
    _, srv_port = srv.address
    deadline = time.time() + 10
    found = ()
    while not found and time.time() < deadline:
        found = registry.discover("CALCULATOR")
        time.sleep(0.05)
    assert found == (("127.0.0.1", srv_port),)
    conn = rpyc.connect(*found[0])
    assert conn.root.add(2, 3) == 5
    conn.close()
    srv.stop()
    assert registry.discover("CALCULATOR") == (), "unregistered at shutdown"
    reg.stop()
