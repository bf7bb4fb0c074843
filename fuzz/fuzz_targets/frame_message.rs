//! Frames and messages from arbitrary bytes: the reader must return errors, never panic,
//! allocate without bound or hang. Every frame is inflated and its envelope read first, and
//! every decoded request is laid out per handler, as the connection does.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rpyc_core::brine::Limits;
use rpyc_core::frame::{FrameCodec, FrameLimits};
use rpyc_core::message::{Message, Request};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut codec = FrameCodec::new(FrameLimits::new(1 << 20, 1 << 20));
    let mut buf = BytesMut::from(data);
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => {
                let Ok(payload) = frame.payload(1 << 20) else {
                    continue;
                };
                let _ = Message::envelope(&payload);
                if let Ok(Message::Request { handler, args, .. }) = Message::decode(&payload, Limits::default()) {
                    let _ = Request::parse(handler, args);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
});
