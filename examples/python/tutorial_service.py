"""RPyC's tutorial service (docs, "Part 3: Services and New-style RPyC"), as the tutorial
writes it, served on --port (0: a free one; the port is printed). The Rust client for it is
examples/tutorial_client.rs; the Python client of the tutorial is in its docstring:

    >>> import rpyc
    >>> c = rpyc.connect("localhost", 18861)
    >>> c.root.get_answer()
    42
    >>> c.root.the_real_answer_though
    43
    >>> c.root.get_question()   # not exposed: AttributeError
"""
import sys

import rpyc


class MyService(rpyc.Service):
    def on_connect(self, conn):
        # code that runs when a connection is created
        # (to init the service, if needed)
        pass

    def on_disconnect(self, conn):
        # code that runs after the connection has already closed
        # (to finalize the service, if needed)
        pass

    def exposed_get_answer(self):  # this is an exposed method
        return 42

    exposed_the_real_answer_though = 43  # an exposed attribute

    def get_question(self):  # while this method is not exposed
        return "what is the airspeed velocity of an unladen swallow?"


if __name__ == "__main__":
    from rpyc.utils.server import ThreadedServer

    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 18861
    t = ThreadedServer(MyService, hostname="127.0.0.1", port=port)
    t._listen()  # bound now, so the printed port is connectable
    print(f"listening on 127.0.0.1:{t.port}", flush=True)
    t.start()
