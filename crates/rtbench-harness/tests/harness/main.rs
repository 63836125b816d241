//! Integration tests of the native launcher, verification, the relay scenario and the upstream token server, against
//! in-process servers on 127.0.0.1 ephemeral ports.
mod launcher;
mod relay;
mod results;
mod upstream;
mod util;
mod verify;
