//! What a notification says: a [`Message`] built from the incident, its
//! service's record (declared customer impact, first steps, runbooks), the
//! services that depend on it, where its first alert came from and the
//! service's recent changes — and the links to act, including a signed
//! one-click acknowledge link for a person's page. The organisation's
//! message templates then reword its headline and body for the channel it
//! goes through; a template that fails to render is logged and the message
//! goes out as tocsin writes it.

use crate::directory::Directory;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use tocsin_domain::Name;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Actions, ChangeLine, IncidentLine, LinkLine, Message, MessageKind};
use tocsin_store::notify::{NotificationRecord, Purpose};
use tocsin_store::{IncidentRecord, Store, StoreError};

/// How long an acknowledge link works.
pub const ACK_LINK_VALIDITY: SignedDuration = SignedDuration::from_hours(24);

/// The name under which the acknowledge-link key is kept in the store.
pub const ACK_KEY_NAME: &str = "ack-links";

/// Signs and checks acknowledge links: `{incident}.{user}.{expires}.{mac}`,
/// the MAC an HMAC-SHA256 over the first three parts with a key every
/// instance shares (kept in the store).
#[derive(Clone)]
pub struct AckSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for AckSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckSigner(…)")
    }
}

/// Why an acknowledge link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckLinkError {
    #[error("this acknowledge link is not one tocsin made")]
    Invalid,
    #[error("this acknowledge link expired; open the incident instead")]
    Expired,
}

impl AckSigner {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        AckSigner { key: key.into() }
    }

    /// The shared key from the store, made on first use.
    pub async fn from_store(store: &dyn Store) -> Result<Self, StoreError> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let key = store.instance_secret(ACK_KEY_NAME, fresh).await?;
        Ok(AckSigner::new(key.into_bytes()))
    }

    fn mac(&self, payload: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(payload.as_bytes());
        Some(mac)
    }

    pub fn token(&self, incident: i64, user: &Name, expires: Timestamp) -> String {
        let payload = format!("{incident}.{user}.{}", expires.as_second());
        let sig = self
            .mac(&payload)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{payload}.{sig}")
    }

    /// The incident and person a link is for, if it is genuine and fresh.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<(i64, Name), AckLinkError> {
        let (payload, sig) = token.rsplit_once('.').ok_or(AckLinkError::Invalid)?;
        let sig = hex::decode(sig).map_err(|_| AckLinkError::Invalid)?;
        self.mac(payload)
            .ok_or(AckLinkError::Invalid)?
            .verify_slice(&sig)
            .map_err(|_| AckLinkError::Invalid)?;
        let mut parts = payload.splitn(3, '.');
        let incident = parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or(AckLinkError::Invalid)?;
        let user = parts
            .next()
            .and_then(|p| Name::parse(p).ok())
            .ok_or(AckLinkError::Invalid)?;
        let expires = parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(AckLinkError::Invalid)?;
        if expires < now {
            return Err(AckLinkError::Expired);
        }
        Ok((incident, user))
    }
}

/// Where links point: the hub's public URL, and the acknowledge-link
/// signer.
#[derive(Debug, Clone)]
pub struct Links {
    /// `https://tocsin.example.com`, no trailing slash.
    pub base_url: String,
    pub signer: AckSigner,
}

impl Links {
    pub fn incident(&self, number: i64) -> String {
        format!("{}/incidents/{number}", self.base_url)
    }

    pub fn acknowledge(&self, number: i64, user: &Name, now: Timestamp) -> String {
        let token = self.signer.token(number, user, now + ACK_LINK_VALIDITY);
        format!("{}/ack/{token}", self.base_url)
    }
}

fn line(i: &IncidentRecord, source: String) -> IncidentLine {
    IncidentLine {
        number: i.number,
        title: i.title.clone(),
        service: i.service.to_string(),
        severity: i.severity,
        status: i.status.as_str().to_owned(),
        source,
        opened_at: i.created_at,
        drill: i.title.starts_with("[DRILL]"),
    }
}

/// Where an incident's first event came from: its integration, or `manual`.
async fn source_of(store: &dyn Store, incident: i64) -> Result<String, StoreError> {
    Ok(store
        .incident_events(incident, 1)
        .await?
        .first()
        .map_or_else(|| "manual".to_owned(), |e| e.integration.to_string()))
}

/// Builds what `n` says about `incident`; `also` are the other incidents a
/// bundle carries. The directory's message template for `n`'s channel, if
/// any, sets the title and body.
pub async fn message(
    store: &dyn Store,
    directory: &Directory,
    links: &Links,
    n: &NotificationRecord,
    incident: &IncidentRecord,
    also: &[IncidentRecord],
    now: Timestamp,
) -> Result<Message, StoreError> {
    let service = directory.services.get(&incident.service).map(|e| &e.spec);
    let since = incident.created_at - SignedDuration::from_hours(24);
    let changes = store
        .recent_changes(&incident.service, since, 3)
        .await?
        .into_iter()
        .map(|e| ChangeLine {
            at: e.received_at,
            summary: e.event.summary,
        })
        .collect();
    let mut bundled = Vec::with_capacity(also.len());
    for a in also {
        bundled.push(line(a, source_of(store, a.number).await?));
    }
    let kind = match n.purpose {
        Purpose::Page if !also.is_empty() => MessageKind::Bundle,
        Purpose::Page => MessageKind::Page,
        Purpose::Resolved => MessageKind::Resolved,
        Purpose::Update => MessageKind::Update,
        Purpose::DeadLetter => MessageKind::DeadLetter,
    };
    let open = incident.status == tocsin_domain::alerting::IncidentStatus::Triggered;
    let acknowledge_url = match (&n.user, n.purpose) {
        (Some(user), Purpose::Page) if open => Some(links.acknowledge(incident.number, user, now)),
        _ => None,
    };
    let recipient = n.user.as_ref().map(|u| {
        directory
            .users
            .get(u)
            .map_or_else(|| u.to_string(), |e| e.spec.full_name.clone())
    });
    let mut message = Message {
        key: n.key.clone(),
        kind,
        incident: line(incident, source_of(store, incident.number).await?),
        recipient,
        impact: service.and_then(|s| s.impact.clone()),
        affected: directory
            .dependents(&incident.service)
            .into_iter()
            .map(|n| n.to_string())
            .collect(),
        slo: None,
        first_steps: service.and_then(|s| s.first_steps.clone()),
        runbooks: service
            .map(|s| {
                s.runbooks
                    .iter()
                    .map(|l| LinkLine {
                        title: l.title.clone(),
                        url: l.url.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        changes,
        actions: Actions {
            incident_url: links.incident(incident.number),
            acknowledge_url,
            interactive: open && matches!(n.purpose, Purpose::Page | Purpose::Update),
        },
        text: match n.purpose {
            Purpose::DeadLetter => n.last_error.clone(),
            Purpose::Update => store.notification_text(&n.key).await?,
            _ => None,
        },
        also: bundled,
        title: None,
        body: None,
    };
    apply_templates(directory, &mut message, &n.kind);
    Ok(message)
}

/// Rewords `message` with the template for `channel` (a contact kind as
/// stored, `slack`). Never fails: a page must go out, so a template that
/// cannot render is logged and the message keeps tocsin's own words.
pub fn apply_templates(directory: &Directory, message: &mut Message, channel: &str) {
    let templates = directory.templates();
    if templates.is_empty() {
        return;
    }
    let Some(channel) = ContactKind::parse(channel) else {
        return;
    };
    if let Err(e) = templates.apply(message, channel) {
        tracing::warn!(
            key = %message.key,
            template = %e.template,
            field = %e.field,
            error = %e.reason,
            "message template failed to render; sending the default message"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::catalog::Kind;
    use tocsin_domain::notify::template::sample;
    use tocsin_domain::plan::Current;

    fn templates(specs: &[serde_json::Value]) -> Directory {
        Directory::from_rows(
            specs
                .iter()
                .map(|spec| Current {
                    id: String::new(),
                    kind: Kind::MessageTemplate,
                    name: Name::parse(spec["name"].as_str().unwrap()).unwrap(),
                    spec: spec.clone(),
                    managed: true,
                    source: Some("templates.yaml".into()),
                    version: 1,
                    secret: None,
                })
                .collect(),
        )
    }

    #[test]
    fn the_channel_s_template_rewords_the_message() {
        let d = templates(&[
            serde_json::json!({
                "name": "slack-short",
                "channels": ["slack"],
                "title": "{{ severity }} {{ incident.service }} is down",
                "body": "Impact: {{ impact }}",
            }),
            serde_json::json!({
                "name": "house",
                "messages": ["page"],
                "body": "Runbook: {{ runbooks[0].url }}",
            }),
        ]);
        let page = sample(MessageKind::Page, true);

        let mut slack = page.clone();
        apply_templates(&d, &mut slack, "slack");
        assert_eq!(slack.headline(), "Sev1 checkout is down");
        assert_eq!(slack.body.as_deref(), Some("Impact: Customers cannot pay."));

        let mut email = page.clone();
        apply_templates(&d, &mut email, "email");
        assert_eq!(email.headline(), page.headline(), "no title for email");
        assert_eq!(
            email.body.as_deref(),
            Some("Runbook: https://wiki.example.com/runbooks/checkout")
        );

        let mut unknown = page.clone();
        apply_templates(&d, &mut unknown, "carrier-pigeon");
        assert_eq!(unknown, page);
    }

    #[test]
    fn a_template_that_fails_sends_the_default_message() {
        // Valid when applied, but a page without runbooks has no `[0]`
        // (this one was stored without validation: a hand-written row).
        let d = templates(&[serde_json::json!({
            "name": "house",
            "title": "{{ incident.title }}",
            "body": "Runbook: {{ runbooks[0].url }}",
        })]);
        let bare = sample(MessageKind::Page, false);
        let mut m = bare.clone();
        apply_templates(&d, &mut m, "email");
        assert_eq!(m, bare, "neither title nor body is kept");
    }

    #[test]
    fn ack_links_verify_and_expire() {
        let s = AckSigner::new(b"k".to_vec());
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let alice = Name::parse("alice").unwrap();
        let t = s.token(42, &alice, now + ACK_LINK_VALIDITY);
        assert_eq!(s.verify(&t, now), Ok((42, alice.clone())));
        assert_eq!(
            s.verify(&t, now + ACK_LINK_VALIDITY + SignedDuration::from_secs(1)),
            Err(AckLinkError::Expired)
        );
        let forged = t.replacen("42", "43", 1);
        assert_eq!(s.verify(&forged, now), Err(AckLinkError::Invalid));
        let other = AckSigner::new(b"other".to_vec());
        assert_eq!(other.verify(&t, now), Err(AckLinkError::Invalid));
        assert_eq!(s.verify("nonsense", now), Err(AckLinkError::Invalid));
    }
}
