//! Email over SMTP: a [`Message`] becomes a multipart/alternative mail
//! (plain text and HTML) sent through one relay with lettre.
//!
//! Invariants:
//! - The `Message-ID` is derived from the message's idempotency key, so a
//!   retried send carries the same id and receivers (and their filters)
//!   can drop the duplicate.
//! - A resolution or status update sent with the earlier mail's
//!   Message-ID (`Delivery::previous`) says `In-Reply-To`/`References`, so
//!   mail clients thread it under the page.
//! - Failures are classified by SMTP's own rule: a 4xx reply, a refused or
//!   timed-out connection or a failed TLS handshake is worth a retry; a
//!   5xx reply (unknown user, rejected sender, failed authentication) or an
//!   address that does not parse is not.
//! - Rendering ([`render`]) is pure; its plain text and HTML fragment are
//!   also what the Matrix channel posts.

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{IncidentLine, Message, MessageKind};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (a relay on the same host or a trusted network only).
    None,
    /// Plain connection upgraded with STARTTLS, which is required: a relay
    /// that does not offer it is refused (usually port 587).
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// Where and how to send mail. Plain data: read from tocsin's
/// configuration by the binary.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The relay's host name; with TLS, the name its certificate must carry.
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Both or neither: SMTP AUTH (PLAIN or LOGIN, whichever the relay offers).
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender mailbox, `pager@example.com` or
    /// `tocsin <pager@example.com>`; its domain also ends every Message-ID.
    pub from: String,
    /// How long one send may take (connect, TLS, the whole dialogue);
    /// capped at [`SEND_TIMEOUT`].
    pub timeout: Duration,
    /// An extra root certificate (PEM) to trust besides the system's: for
    /// a private relay with its own CA, and for tests.
    pub extra_root_ca_pem: Option<String>,
}

impl std::fmt::Debug for Config {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("extra_root_ca_pem", &self.extra_root_ca_pem.is_some())
            .finish()
    }
}

/// Why an [`EmailChannel`] cannot be built from its [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("email: `from` {from:?} is not a mailbox: {reason}")]
    From { from: String, reason: String },
    #[error("email: username and password must be given together")]
    HalfCredentials,
    #[error("email: the extra root CA certificate is not usable: {0}")]
    RootCa(String),
    #[error("email: TLS settings for {host:?} are not usable: {reason}")]
    Tls { host: String, reason: String },
}

/// A message as mail: subject, plain text and HTML (a whole document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders a message as mail. Pure: the same message gives the same mail.
pub fn render(message: &Message) -> Rendered {
    // One line: a title with a line break must not fold into other headers.
    let subject: String = message
        .headline()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Rendered {
        text: text_body(message),
        html: format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family: sans-serif\">\n{}</body></html>\n",
            escape(&subject),
            html_body(message)
        ),
        subject,
    }
}

/// The `Message-ID` (with its angle brackets) of the message with this
/// idempotency key, sent from `domain`: the same on every retry.
pub fn message_id(key: &str, domain: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        let _ = write!(hex, "{b:02x}");
    }
    format!("<tocsin.{hex}@{domain}>")
}

/// Sends mail through one SMTP relay.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The sender's domain, for Message-IDs.
    domain: String,
    timeout: Duration,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// Checks the configuration and prepares the transport; connects only
    /// when sending (one connection per mail: pages are rare and a stale
    /// pooled connection would only add a failure mode).
    pub fn new(config: &Config) -> Result<EmailChannel, ConfigError> {
        let from: Mailbox = config.from.parse().map_err(|e| ConfigError::From {
            from: config.from.clone(),
            reason: format!("{e}"),
        })?;
        let domain = from.email.domain().to_owned();
        let timeout = config.timeout.min(SEND_TIMEOUT);
        let tls = match config.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters(config)?),
            Security::Tls => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(timeout));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => return Err(ConfigError::HalfCredentials),
        }
        Ok(EmailChannel {
            transport: builder.build(),
            from,
            domain,
            timeout,
        })
    }

    /// The mail for one delivery, and its Message-ID.
    fn compose(&self, delivery: &Delivery<'_>) -> Result<(lettre::Message, String), SendError> {
        let to: Mailbox = delivery.address.trim().parse().map_err(|e| {
            SendError::permanent(format!(
                "{:?} is not an email address: {e}",
                delivery.address
            ))
        })?;
        let message = delivery.message;
        let rendered = render(message);
        let id = message_id(&message.key, &self.domain);
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(id.clone()))
            .header(AutoSubmitted);
        if let Some(previous) = threads_under(message.kind, delivery.previous) {
            builder = builder.in_reply_to(previous.clone()).references(previous);
        }
        let mail = builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the mail: {e}")))?;
        Ok((mail, id))
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Email
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let (mail, id) = self.compose(&delivery)?;
        match tokio::time::timeout(self.timeout, self.transport.send(mail)).await {
            Err(_) => Err(SendError::transient(format!(
                "SMTP: no answer within {:?}",
                self.timeout
            ))),
            Ok(Err(e)) => Err(classify(&e)),
            Ok(Ok(_)) => Ok(Sent {
                reference: Some(id),
            }),
        }
    }
}

/// The earlier Message-ID a resolution or update replies to, with its
/// angle brackets (a reference kept without them is accepted too).
fn threads_under(kind: MessageKind, previous: Option<&str>) -> Option<String> {
    if !matches!(kind, MessageKind::Resolved | MessageKind::Update) {
        return None;
    }
    let previous = previous?.trim();
    if previous.is_empty() || previous.contains(['\r', '\n']) {
        return None;
    }
    Some(if previous.starts_with('<') {
        previous.to_owned()
    } else {
        format!("<{previous}>")
    })
}

fn tls_parameters(config: &Config) -> Result<TlsParameters, ConfigError> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.extra_root_ca_pem {
        let cert = Certificate::from_pem(pem.as_bytes())
            .map_err(|e| ConfigError::RootCa(format!("{e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| ConfigError::Tls {
        host: config.host.clone(),
        reason: format!("{e}"),
    })
}

/// SMTP's rule: 4xx and anything on the way to a reply (connection,
/// timeout, TLS) is transient; 5xx and a client-side refusal permanent.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reason = format!("SMTP: {e}");
    if e.is_permanent() || e.is_client() {
        SendError::permanent(reason)
    } else {
        SendError::transient(reason)
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): vacation responders and
/// mailing lists do not answer a page.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

// --- Rendering (shared with the Matrix channel) --------------------------

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link when the URL is http(s), else the escaped text: a catalog URL
/// never becomes a `javascript:` link.
fn link(url: &str, title: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!("<a href=\"{}\">{}</a>", escape(url.trim()), escape(title))
    } else {
        escape(title)
    }
}

fn when(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// `Sev1 #42 checkout: title`.
fn incident_line(i: &IncidentLine) -> String {
    format!(
        "{} #{} {}: {}",
        i.severity.label(),
        i.number,
        i.service,
        i.title
    )
}

const DRILL_NOTE: &str = "This is a fire drill: acknowledge it as you would a real page.";

/// The plain-text body: the headline, then what a responder needs first.
pub(crate) fn text_body(m: &Message) -> String {
    let i = &m.incident;
    let mut t = String::new();
    let _ = writeln!(t, "{}", m.headline());
    if i.drill {
        let _ = writeln!(t, "{DRILL_NOTE}");
    }
    t.push('\n');
    if let Some(body) = &m.body {
        if !body.trim().is_empty() {
            let _ = writeln!(t, "{}\n", body.trim_end());
        }
        let _ = writeln!(t, "Open the incident: {}", m.actions.incident_url);
        if m.kind != MessageKind::Resolved
            && let Some(ack) = &m.actions.acknowledge_url
        {
            let _ = writeln!(t, "Acknowledge #{} (one click): {ack}", i.number);
        }
        return t;
    }
    match m.kind {
        MessageKind::Resolved => {
            let _ = writeln!(t, "#{} on {} is resolved.", i.number, i.service);
            let _ = writeln!(t, "Open the incident: {}", m.actions.incident_url);
            return t;
        }
        MessageKind::DeadLetter => {
            let _ = writeln!(
                t,
                "A notification about #{} could not be delivered.",
                i.number
            );
            if let Some(reason) = &m.text {
                let _ = writeln!(t, "Reason: {reason}");
            }
            let _ = writeln!(t, "Open the incident: {}", m.actions.incident_url);
            return t;
        }
        MessageKind::Update => {
            if let Some(text) = &m.text {
                let _ = writeln!(t, "Update: {text}\n");
            }
        }
        MessageKind::Bundle => {
            let _ = writeln!(t, "Paging now ({} incidents):", m.also.len() + 1);
            for line in std::iter::once(i).chain(&m.also) {
                let _ = writeln!(t, "- {} (from {})", incident_line(line), line.source);
            }
            let _ = writeln!(t, "\nAbout #{}:", i.number);
        }
        MessageKind::Page => {}
    }
    let _ = writeln!(
        t,
        "Service: {} · {} · {}",
        i.service,
        i.severity.label(),
        i.status
    );
    let _ = writeln!(t, "Source: {}, opened {}", i.source, when(i.opened_at));
    if let Some(impact) = &m.impact {
        let _ = writeln!(t, "Customer impact: {impact}");
    }
    if !m.affected.is_empty() {
        let _ = writeln!(t, "Also affected: {}", m.affected.join(", "));
    }
    if let Some(slo) = &m.slo {
        let _ = writeln!(t, "SLO burning: {slo}");
    }
    if let Some(steps) = &m.first_steps {
        let _ = writeln!(t, "\nFirst steps:\n{}", steps.trim_end());
    }
    if !m.runbooks.is_empty() {
        let _ = writeln!(t, "\nRunbooks:");
        for r in &m.runbooks {
            let _ = writeln!(t, "- {}: {}", r.title, r.url);
        }
    }
    if !m.changes.is_empty() {
        let _ = writeln!(t, "\nRecent changes:");
        for c in &m.changes {
            let _ = writeln!(t, "- {} {}", when(c.at), c.summary);
        }
    }
    t.push('\n');
    let _ = writeln!(t, "Open the incident: {}", m.actions.incident_url);
    if let Some(ack) = &m.actions.acknowledge_url {
        let _ = writeln!(t, "Acknowledge #{} (one click): {ack}", i.number);
    }
    t
}

/// The HTML body as a fragment (paragraphs, lists, links, `<strong>`):
/// wrapped into a document for mail, posted as is to Matrix, whose
/// clients accept exactly this subset.
pub(crate) fn html_body(m: &Message) -> String {
    let i = &m.incident;
    let mut h = String::new();
    let _ = writeln!(h, "<p><strong>{}</strong></p>", escape(&m.headline()));
    if i.drill {
        let _ = writeln!(h, "<p><strong>{}</strong></p>", escape(DRILL_NOTE));
    }
    let open = format!(
        "<p>{}</p>",
        link(&m.actions.incident_url, "Open the incident")
    );
    if let Some(body) = &m.body {
        // Plain text: escaped, a paragraph per blank-line-separated block,
        // its line breaks kept.
        for paragraph in paragraphs(body) {
            let _ = writeln!(h, "<p>{}</p>", lines(&paragraph));
        }
        match m.kind {
            MessageKind::Resolved => h.push_str(&open),
            _ => h.push_str(&links(m)),
        }
        h.push('\n');
        return h;
    }
    match m.kind {
        MessageKind::Resolved => {
            let _ = writeln!(
                h,
                "<p>#{} on {} is resolved.</p>\n{open}",
                i.number,
                escape(&i.service)
            );
            return h;
        }
        MessageKind::DeadLetter => {
            let _ = writeln!(
                h,
                "<p>A notification about #{} could not be delivered.</p>",
                i.number
            );
            if let Some(reason) = &m.text {
                let _ = writeln!(h, "<p>Reason: {}</p>", escape(reason));
            }
            let _ = writeln!(h, "{open}");
            return h;
        }
        MessageKind::Update => {
            if let Some(text) = &m.text {
                let _ = writeln!(h, "<p><strong>Update:</strong> {}</p>", lines(text));
            }
        }
        MessageKind::Bundle => {
            let _ = writeln!(
                h,
                "<p>Paging now ({} incidents):</p>\n<ul>",
                m.also.len() + 1
            );
            for line in std::iter::once(i).chain(&m.also) {
                let _ = writeln!(
                    h,
                    "<li>{} (from {})</li>",
                    escape(&incident_line(line)),
                    escape(&line.source)
                );
            }
            let _ = writeln!(h, "</ul>\n<p>About #{}:</p>", i.number);
        }
        MessageKind::Page => {}
    }
    let _ = write!(
        h,
        "<p><strong>Service:</strong> {} · {} · {}<br>\n<strong>Source:</strong> {}, opened {}",
        escape(&i.service),
        i.severity.label(),
        escape(&i.status),
        escape(&i.source),
        when(i.opened_at)
    );
    if let Some(impact) = &m.impact {
        let _ = write!(
            h,
            "<br>\n<strong>Customer impact:</strong> {}",
            escape(impact)
        );
    }
    if !m.affected.is_empty() {
        let _ = write!(
            h,
            "<br>\n<strong>Also affected:</strong> {}",
            escape(&m.affected.join(", "))
        );
    }
    if let Some(slo) = &m.slo {
        let _ = write!(h, "<br>\n<strong>SLO burning:</strong> {}", escape(slo));
    }
    h.push_str("</p>\n");
    if let Some(steps) = &m.first_steps {
        let _ = writeln!(
            h,
            "<p><strong>First steps:</strong><br>\n{}</p>",
            lines(steps)
        );
    }
    if !m.runbooks.is_empty() {
        h.push_str("<p><strong>Runbooks:</strong></p>\n<ul>\n");
        for r in &m.runbooks {
            let _ = writeln!(h, "<li>{}</li>", link(&r.url, &r.title));
        }
        h.push_str("</ul>\n");
    }
    if !m.changes.is_empty() {
        h.push_str("<p><strong>Recent changes:</strong></p>\n<ul>\n");
        for c in &m.changes {
            let _ = writeln!(h, "<li>{} {}</li>", when(c.at), escape(&c.summary));
        }
        h.push_str("</ul>\n");
    }
    h.push_str(&links(m));
    h.push('\n');
    h
}

/// `<p>` with the link to the incident and, when the message has one, the
/// one-click acknowledge link.
fn links(m: &Message) -> String {
    let mut h = format!("<p>{}", link(&m.actions.incident_url, "Open the incident"));
    if let Some(ack) = &m.actions.acknowledge_url {
        let _ = write!(
            h,
            " · <strong>{}</strong>",
            link(
                ack,
                &format!("Acknowledge #{} (one click)", m.incident.number)
            )
        );
    }
    h.push_str("</p>");
    h
}

/// A text's paragraphs: blocks of lines between blank lines.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n"));
    }
    out
}

/// Escaped text with its line breaks kept.
fn lines(s: &str) -> String {
    escape(s.trim_end()).replace('\n', "<br>\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn a_page_starts_with_what_a_responder_needs() {
        let r = render(&sample::page());
        assert_eq!(r.subject, "Sev1 #42 checkout: Error rate above 5 % on /pay");
        let lines: Vec<&str> = r.text.lines().collect();
        assert_eq!(lines[0], r.subject);
        assert_eq!(lines[2], "Service: checkout · Sev1 · triggered");
        assert_eq!(
            lines[3],
            "Source: prometheus-prod, opened 2026-03-02 09:00 UTC"
        );
        assert!(lines[4].starts_with("Customer impact: Customers cannot pay"));
        assert_eq!(lines[5], "Also affected: storefront, mobile-api");
        assert!(lines[6].starts_with("SLO burning: checkout availability"));
        for want in [
            "First steps:\n1. Check the payment provider's status page.",
            "- Checkout runbook: https://wiki.example.com/runbooks/checkout",
            "- 2026-03-02 08:41 UTC Deploy checkout v2.14.0 (alice)",
            "Open the incident: https://tocsin.example.com/incidents/42",
            "Acknowledge #42 (one click): https://tocsin.example.com/ack/42?sig=abc123",
        ] {
            assert!(r.text.contains(want), "{want:?} missing from:\n{}", r.text);
        }
        for want in [
            "<a href=\"https://tocsin.example.com/ack/42?sig=abc123\">Acknowledge #42 (one click)</a>",
            "<a href=\"https://wiki.example.com/runbooks/checkout\">Checkout runbook</a>",
            "provider&#39;s status page.<br>\n2. Roll back",
        ] {
            assert!(r.html.contains(want), "{want:?} missing from:\n{}", r.html);
        }
    }

    #[test]
    fn a_bare_page_has_no_empty_sections() {
        let r = render(&sample::bare());
        for absent in [
            "Customer impact",
            "Runbooks",
            "Recent changes",
            "SLO",
            "Acknowledge",
        ] {
            assert!(!r.text.contains(absent), "{absent} in:\n{}", r.text);
            assert!(!r.html.contains(absent), "{absent} in:\n{}", r.html);
        }
    }

    #[test]
    fn drills_bundles_resolutions_and_updates() {
        let drill = render(&sample::drill());
        assert!(drill.subject.starts_with("[DRILL] "));
        assert!(drill.text.lines().nth(1) == Some(DRILL_NOTE));

        let bundle = render(&sample::bundle());
        assert!(bundle.subject.starts_with("3 incidents paging: "));
        for n in ["#42 checkout", "#44 search", "#45 orders"] {
            assert!(bundle.text.contains(n) && bundle.html.contains(n), "{n}");
        }

        let resolved = render(&sample::resolved());
        assert!(resolved.subject.starts_with("Resolved: "));
        assert!(resolved.text.lines().count() <= 5, "{}", resolved.text);
        assert!(!resolved.text.contains("First steps"));

        let dead = render(&sample::dead_letter());
        assert!(dead.subject.starts_with("Undelivered notification: "));
        assert!(
            dead.text
                .contains("Reason: slack to Alice Example failed 5 times")
        );

        let update = render(&sample::update());
        assert!(
            update
                .text
                .contains("Update: Identified: the payment provider")
        );
    }

    #[test]
    fn html_is_escaped_and_only_web_links_are_links() {
        let mut m = sample::page();
        m.incident.title = "<script>alert(1)</script> & \"quotes\"".to_owned();
        m.runbooks[0].url = "javascript:alert(1)".to_owned();
        let r = render(&m);
        assert!(!r.html.contains("<script>"));
        assert!(
            r.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;")
        );
        assert!(!r.html.contains("javascript:"));

        m.incident.title = "two\r\nBcc: lines".to_owned();
        assert_eq!(render(&m).subject, "Sev1 #42 checkout: two  Bcc: lines");
    }

    #[test]
    fn message_ids_are_stable_per_key() {
        let a = message_id("escalation:42:0:0", "example.com");
        assert_eq!(a, message_id("escalation:42:0:0", "example.com"));
        assert_ne!(a, message_id("escalation:42:0:1", "example.com"));
        assert!(a.starts_with("<tocsin.") && a.ends_with("@example.com>"));
    }

    #[test]
    fn only_resolutions_and_updates_thread() {
        assert_eq!(
            threads_under(MessageKind::Resolved, Some("<a@b>")).as_deref(),
            Some("<a@b>")
        );
        assert_eq!(
            threads_under(MessageKind::Update, Some("a@b")).as_deref(),
            Some("<a@b>")
        );
        assert_eq!(threads_under(MessageKind::Page, Some("<a@b>")), None);
        assert_eq!(threads_under(MessageKind::Resolved, None), None);
        assert_eq!(
            threads_under(MessageKind::Resolved, Some("<a@b>\r\nBcc: x")),
            None
        );
    }

    #[test]
    fn configs_are_checked_and_passwords_hidden() {
        let config = Config {
            host: "smtp.example.com".to_owned(),
            port: 587,
            security: Security::StartTls,
            username: Some("pager".to_owned()),
            password: Some("hunter2".to_owned()),
            from: "tocsin <pager@example.com>".to_owned(),
            timeout: Duration::from_secs(5),
            extra_root_ca_pem: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(EmailChannel::new(&config).is_ok());
        let bad = Config {
            from: "not a mailbox".to_owned(),
            ..config.clone()
        };
        assert!(matches!(
            EmailChannel::new(&bad),
            Err(ConfigError::From { .. })
        ));
        let half = Config {
            password: None,
            ..config
        };
        assert_eq!(
            EmailChannel::new(&half).err(),
            Some(ConfigError::HalfCredentials)
        );
    }
}
