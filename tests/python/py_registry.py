#!/usr/bin/env python3
"""A stock Python rpyc registry server on 127.0.0.1, for the Rust registry-client tests.

Usage: py_registry.py --mode udp|tcp [--listing]
Binds 127.0.0.1 on a free port, prints `listening on 127.0.0.1:PORT` (flushed), serves
until killed.
"""
import argparse
import socket
import sys

from rpyc.utils.registry import TCPRegistryServer, UDPRegistryServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["udp", "tcp"], required=True)
    ap.add_argument("--listing", action="store_true")
    args = ap.parse_args()
    # Find a free port on loopback, then bind the registry there.
    kind = socket.SOCK_DGRAM if args.mode == "udp" else socket.SOCK_STREAM
    probe = socket.socket(socket.AF_INET, kind)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    cls = UDPRegistryServer if args.mode == "udp" else TCPRegistryServer
    server = cls(host="127.0.0.1", port=port, allow_listing=args.listing)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    server.start()


if __name__ == "__main__":
    sys.exit(main())
