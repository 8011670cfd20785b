//! Delivery channels: each module renders a [`Message`] in its channel's
//! own idiom and sends it, implementing [`tocsin_core::notify::Channel`].
//! Thin adapters: what to send, when, to whom and how often is decided in
//! `tocsin-core::notify`; a channel only speaks its wire format and says
//! whether a failure is worth a retry.
//!
//! [`Message`]: tocsin_domain::notify::Message

pub mod console;
pub mod email;
pub mod http;
pub mod matrix;
pub mod mattermost;
pub mod ntfy;
#[doc(hidden)]
pub mod sample;
pub mod slack;
pub mod slack_api;
pub mod slack_rooms;
pub mod teams;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod webhook;
