//! Notifications: the outbox and its delivery, and the channel port.

pub mod channel;

pub use channel::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent, classify_status};
