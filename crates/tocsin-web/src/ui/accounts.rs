//! `/admin/accounts`: sign-in accounts for admins — who may sign in, with
//! which role; changing a role; creating an account for a declared user
//! or for a new person.
//!
//! Admins pick no password for others: one is generated and shown once,
//! on the `no-store` response to the POST that created it (the store keeps
//! only its Argon2id hash), to be handed over and changed on the profile
//! page. The rules (valid names, the last admin) live in
//! `tocsin_core::account`, shared with `tocsin user`; the core writes the
//! audit entries.

use super::common::{Done, ObjLink, no_store, when};
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::BTreeMap;
use tocsin_core::account::{self, AccountError, NewUserAccount};
use tocsin_domain::Name;
use tocsin_domain::access::{Action, Role};
use tocsin_domain::catalog::{Kind, Object};

/// Length of a generated password: 20 alphanumerics ≈ 119 bits, well
/// above `MIN_PASSWORD_LEN`, and still short enough to read out.
const PASSWORD_LEN: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(accounts).post(create_account))
        .route("/admin/accounts/role", post(change_role))
}

#[derive(Debug)]
struct Row {
    user: ObjLink,
    full_name: String,
    role: &'static str,
    created: String,
    /// The signed-in admin's own row.
    me: bool,
}

/// A declared user without an account: can be given one.
#[derive(Debug)]
struct Candidate {
    name: String,
    full_name: String,
}

/// An account just created, with its password: shown once.
#[derive(Debug)]
struct Created {
    user: String,
    role: &'static str,
    password: String,
}

/// What the create form held, to show it again with the problem.
#[derive(Debug, Default)]
struct CreateValues {
    user: String,
    new_name: String,
    full_name: String,
    email: String,
    role: String,
    error: Option<String>,
    /// The field the error is about (`user`, `new_name`, `full_name`,
    /// `email`, `role`), so that field is marked invalid.
    field: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
struct AccountsPage {
    nav: Nav,
    rows: Vec<Row>,
    candidates: Vec<Candidate>,
    roles: [&'static str; 4],
    created: Option<Created>,
    form: CreateValues,
}

/// The page as the store has it now; the form empty (role responder,
/// the least that can act on incidents).
async fn page(state: &AppState, me: &SignedIn, nav: Nav) -> Result<AccountsPage, UiError> {
    let store = state.store.as_ref();
    let users: BTreeMap<Name, String> = store
        .list_objects(Some(Kind::User))
        .await?
        .into_iter()
        .filter_map(|c| match Object::from_spec(Kind::User, c.spec) {
            Ok(Object::User(u)) => Some((u.name, u.full_name)),
            _ => None,
        })
        .collect();
    let accounts = store.list_accounts().await?;
    let rows = accounts
        .iter()
        .map(|a| Row {
            // An account may outlive its user (removed from the manifests):
            // then there is no page to link to.
            user: if users.contains_key(&a.user) {
                ObjLink::user(&a.user)
            } else {
                ObjLink {
                    text: a.user.to_string(),
                    href: None,
                }
            },
            full_name: users.get(&a.user).cloned().unwrap_or_default(),
            role: a.role.as_str(),
            created: when(a.created_at),
            me: a.user == me.session.user,
        })
        .collect();
    let candidates = users
        .iter()
        .filter(|(name, _)| !accounts.iter().any(|a| &a.user == *name))
        .map(|(name, full_name)| Candidate {
            name: name.to_string(),
            full_name: full_name.clone(),
        })
        .collect();
    Ok(AccountsPage {
        nav,
        rows,
        candidates,
        roles: Role::ALL.map(Role::as_str),
        created: None,
        form: CreateValues {
            role: Role::Responder.as_str().into(),
            ..CreateValues::default()
        },
    })
}

async fn accounts(
    State(state): State<AppState>,
    me: SignedIn,
    Query(done): Query<Done>,
) -> Result<AccountsPage, UiError> {
    let nav = done.flash(me.nav("accounts"));
    me.authorize(&Action::Administer, &nav)?;
    page(&state, &me, nav).await
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<RoleForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("accounts");
    me.authorize(&Action::Administer, &nav)?;
    let no_account = || {
        UiError::not_found(
            &nav,
            format!("there is no account for {:?}", form.user.trim()),
        )
    };
    let user = Name::parse(form.user.trim()).map_err(|_| no_account())?;
    let Some(role) = Role::parse(&form.role) else {
        return Err(UiError::unprocessable(
            &nav,
            format!(
                "role: {:?} is not one of viewer, responder, manager, admin",
                form.role
            ),
        ));
    };
    let now = state.clock.now();
    match account::set_role(state.store.as_ref(), &user, role, &me.actor(), now).await {
        // An admin who stepped down can no longer see this page.
        Ok(true) if user == me.session.user && role != Role::Admin => {
            Ok(Redirect::to("/profile?done=demoted").into_response())
        }
        Ok(true) => Ok(Redirect::to("/admin/accounts?done=role").into_response()),
        Ok(false) => Err(no_account()),
        Err(e @ AccountError::LastAdmin(_)) => {
            // The list again, unchanged, with the reason on top.
            let p = page(&state, &me, nav.with_flash("error", e.to_string())).await?;
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Err(AccountError::Store(e)) => Err(e.into()),
        Err(e) => Err(UiError::unprocessable(&nav, e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    /// A declared user without an account; empty for a new person.
    #[serde(default)]
    user: String,
    /// A new person's user name (with `full_name` and `email`).
    #[serde(default)]
    new_name: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

impl CreateForm {
    /// Who the account is for, or the problem and its field. Both a
    /// declared user and a new name is refused rather than guessed.
    fn name(&self) -> Result<String, (&'static str, String)> {
        match (self.user.trim(), self.new_name.trim()) {
            ("", "") => Err((
                "user",
                "choose a declared user, or type a new user name".into(),
            )),
            (declared, "") => Ok(declared.to_owned()),
            ("", new) => Ok(new.to_owned()),
            (declared, new) => Err((
                "new_name",
                format!(
                    "both the declared user {declared:?} and the new name {new:?} are filled in; keep one"
                ),
            )),
        }
    }

    /// The box the user name came from, for marking it invalid.
    fn name_field(&self) -> &'static str {
        if self.user.trim().is_empty() {
            "new_name"
        } else {
            "user"
        }
    }

    fn values(self, field: &'static str, error: String) -> CreateValues {
        CreateValues {
            user: self.user,
            new_name: self.new_name,
            full_name: self.full_name,
            email: self.email,
            role: self.role,
            error: Some(error),
            field,
        }
    }
}

async fn create_account(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<CreateForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("accounts");
    me.authorize(&Action::Administer, &nav)?;
    let parsed = form.name().and_then(|name| {
        let role = Role::parse(&form.role).ok_or_else(|| {
            (
                "role",
                format!(
                    "{:?} is not one of viewer, responder, manager, admin",
                    form.role
                ),
            )
        })?;
        Ok((name, role))
    });
    let (name, role) = match parsed {
        Ok(ok) => ok,
        Err((field, why)) => return refused(&state, &me, nav, form.values(field, why)).await,
    };
    let password = tocsin_core::token::random_secret(PASSWORD_LEN);
    let new = NewUserAccount {
        name,
        role,
        password: password.clone(),
        full_name: Some(form.full_name.clone()),
        email: Some(form.email.clone()),
        time_zone: None,
    };
    let now = state.clock.now();
    let problem = match account::create(state.store.as_ref(), new, &me.actor(), now).await {
        Ok(user) => {
            let flash = format!("Account {user} created with role {role}.");
            let mut p = page(&state, &me, nav.with_flash("ok", flash)).await?;
            p.created = Some(Created {
                user: user.to_string(),
                role: role.as_str(),
                password,
            });
            return Ok(no_store(p));
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(AccountError::Invalid(field, why)) => {
            // The core names its fields; say them as the form labels them.
            let (field, label) = match field {
                "name" => (form.name_field(), "user name"),
                "email" => ("email", "email"),
                "full_name" => ("full_name", "full name"),
                other => ("", other),
            };
            (field, format!("{label}: {why}"))
        }
        Err(e @ AccountError::Exists(_)) => (form.name_field(), e.to_string()),
        Err(e) => ("", e.to_string()),
    };
    let (field, why) = problem;
    refused(&state, &me, nav, form.values(field, why)).await
}

/// The page again with the form as it was sent and what is wrong with it.
async fn refused(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
    values: CreateValues,
) -> Result<Response, UiError> {
    let mut p = page(state, me, nav).await?;
    p.form = values;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}
