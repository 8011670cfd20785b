//! Notifications: the outbox's delivery on the durable engine
//! ([`Deliverer`]), resolutions sent where pages went ([`Resolutions`]),
//! what a message says ([`content`]), and the [`Channel`] port that
//! delivery channels (`tocsin-notify`) implement.
//!
//! The guarantee (docs/notifications.md): every notification is written to
//! the outbox in the transaction of the change that causes it, with a
//! deterministic key, and delivered at least once — deduplicated by that
//! key across retries, restarts and instances — or visibly dead.

pub mod channel;
pub mod content;
pub mod deliver;
pub mod resolved;

pub use channel::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent, classify_status};
pub use content::{AckLinkError, AckSigner, Links};
pub use deliver::{Channels, Deliverer, DeliveryPolicy};
pub use resolved::{Resolutions, enqueue_resolutions};
