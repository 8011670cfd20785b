//! Small pieces the catalog, profile, settings, audit and accounts pages
//! share: turning a path segment into a name, the one-line confirmations
//! shown after a redirect, safe links, and how times are written.

use super::{Nav, UiError};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tocsin_domain::Name;

/// A name from the URL; anything that is not a valid name cannot exist,
/// so it is a 404 like an unknown one.
pub fn path_name(raw: &str, what: &str, nav: &Nav) -> Result<Name, UiError> {
    Name::parse(raw)
        .map_err(|_| UiError::not_found(nav, format!("there is no {what} named {raw:?}")))
}

/// `?done=...` after a POST-redirect-GET: a fixed code, never free text,
/// so a crafted link cannot put words in the page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: String,
}

impl Done {
    /// The confirmation to show, if the code is known.
    pub fn flash(&self, nav: Nav) -> Nav {
        let text = match self.done.as_str() {
            "saved" => "Profile saved.",
            "unchanged" => "Nothing changed: the profile already had these values.",
            "password" => "Password changed. Your other sessions were signed out.",
            "revoked" => "Token revoked: it no longer works.",
            "role" => "Role changed. It applies at once, to sessions and tokens alike.",
            "demoted" => "Your role is changed: you are no longer an admin.",
            "override-added" => "Override added: the final schedule below includes it.",
            "drill-muted" => {
                "Drill sent, but it opened no incident: the service's alerts are muted now (maintenance or a silence), so nobody was paged."
            }
            "override-removed" => "Override removed: the final schedule below is without it.",
            _ => return nav,
        };
        nav.with_flash("ok", text)
    }
}

/// Only http(s) URLs become links: a `javascript:` URL in a stored object
/// must not run when a responder clicks it.
pub fn safe_href(url: &str) -> Option<String> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace);
    ok.then(|| url.to_owned())
}

/// Times are shown in UTC, to the minute: the same string for everyone
/// reading an audit trail across time zones.
pub fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// For pages that show a secret: keep them out of every cache, so the
/// back button or a shared proxy cannot show it again.
pub fn no_store(page: impl IntoResponse) -> Response {
    let mut res = page.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A link to an object's page when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjLink {
    pub text: String,
    pub href: Option<String>,
}

impl ObjLink {
    pub fn user(name: &Name) -> ObjLink {
        ObjLink {
            text: name.to_string(),
            href: Some(format!("/users/{name}")),
        }
    }

    pub fn team(name: &Name) -> ObjLink {
        ObjLink {
            text: name.to_string(),
            href: Some(format!("/teams/{name}")),
        }
    }

    pub fn service(name: &Name) -> ObjLink {
        ObjLink {
            text: name.to_string(),
            href: Some(format!("/services/{name}")),
        }
    }
}
