#!/usr/bin/env python3
"""A stock Python rpyc registry server on 127.0.0.1, for the Rust registry-client tests.

Usage: py_registry.py --mode udp|tcp [--listing]
Binds 127.0.0.1 on a port the system picks, prints `listening on 127.0.0.1:PORT`
(flushed) once bound, serves until killed.
"""
import argparse
import sys

from rpyc.utils.registry import TCPRegistryServer, UDPRegistryServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["udp", "tcp"], required=True)
    ap.add_argument("--listing", action="store_true")
    args = ap.parse_args()
    cls = UDPRegistryServer if args.mode == "udp" else TCPRegistryServer
    # Port 0: the constructor binds (and, for TCP, listens), and `port` is the bound one.
    server = cls(host="127.0.0.1", port=0, allow_listing=args.listing)
    print(f"listening on 127.0.0.1:{server.port}", flush=True)
    server.start()


if __name__ == "__main__":
    sys.exit(main())
