# The benchmark service of rpyc-bench's capnp-rpc peer: the same three calls as the other
# stacks. The Rust code for it, src/bench_capnp.rs, is generated once and committed (see the
# comment at its top), so building the peer crate needs no `capnp` binary.
@0x9a0c9eec9b3cfb10;

interface Bench {
  # a + b.
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
  # The same bytes back.
  echo @1 (data :Data) -> (data :Data);
  # Calls the client's callback with x and returns what it returned.
  call @2 (f :Callback, x :Int64) -> (result :Int64);
}

# A capability the client passes to Bench.call.
interface Callback {
  call @0 (x :Int64) -> (result :Int64);
}
