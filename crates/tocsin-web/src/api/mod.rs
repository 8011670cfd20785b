//! The REST API under `/api/v1`.

pub mod access;
pub mod catalog;
pub mod changes;
pub mod chat;
pub mod config;
pub mod drill;
pub mod heartbeats;
pub mod ical;
pub mod incidents;
pub mod noise;
pub mod oncall;
pub mod response;
pub mod reviews;

use crate::server::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tocsin",
        description = "The tocsin incident hub REST API. Authenticate with an API token: `Authorization: Bearer tcs_…` (create one with `tocsin token create`). Errors are RFC 9457 `application/problem+json`.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "catalog", description = "Declared objects: teams, users, services, schedules, escalation policies, integrations"),
        (name = "access", description = "The caller, API tokens and the audit log"),
        (name = "incidents", description = "Incidents opened from ingested alerts, with their alerts and events"),
        (name = "response", description = "Running an incident: declaring, severity, roles, responders, notes and key moments, stakeholders and updates, merging, closing, the timeline"),
        (name = "reviews", description = "Post-incident reviews, the blameless-language check, action items"),
        (name = "oncall", description = "Who is on call, and schedules' shifts over a range"),
        (name = "noise", description = "Silences and maintenance windows made at run time, and silence previews"),
        (name = "config", description = "Config as code: plan and apply manifests"),
        (name = "heartbeats", description = "Heartbeats (dead man's switches): status, last and next pings, recent runs"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every documented route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::list_users))
        .routes(routes!(catalog::get_user))
        .routes(routes!(catalog::list_teams))
        .routes(routes!(catalog::get_team))
        .routes(routes!(catalog::list_schedules))
        .routes(routes!(catalog::get_schedule))
        .routes(routes!(catalog::list_escalation_policies))
        .routes(routes!(catalog::get_escalation_policy))
        .routes(routes!(catalog::list_services))
        .routes(routes!(catalog::get_service))
        .routes(routes!(catalog::list_integrations))
        .routes(routes!(catalog::get_integration))
        .routes(routes!(catalog::list_silences, noise::create_silence))
        .routes(routes!(catalog::get_silence, noise::expire_silence))
        .routes(routes!(noise::preview_silence))
        .routes(routes!(
            catalog::list_maintenance_windows,
            noise::create_window
        ))
        .routes(routes!(
            catalog::get_maintenance_window,
            noise::delete_window
        ))
        .routes(routes!(access::me))
        .routes(routes!(access::list_tokens, access::create_token))
        .routes(routes!(access::revoke_token))
        .routes(routes!(access::audit))
        .routes(routes!(incidents::list_incidents, response::declare))
        .routes(routes!(incidents::get_incident, response::patch_incident))
        .routes(routes!(response::timeline))
        .routes(routes!(response::add_service))
        .routes(routes!(response::assign_role))
        .routes(routes!(response::unassign_role))
        .routes(routes!(response::add_responders))
        .routes(routes!(response::add_note))
        .routes(routes!(response::pin, response::unpin))
        .routes(routes!(response::add_stakeholder))
        .routes(routes!(response::remove_stakeholder))
        .routes(routes!(response::set_cadence))
        .routes(routes!(response::post_update))
        .routes(routes!(response::merge))
        .routes(routes!(response::close))
        .routes(routes!(reviews::get_review, reviews::save_review))
        .routes(routes!(reviews::review_markdown))
        .routes(routes!(reviews::check))
        .routes(routes!(
            reviews::incident_action_items,
            reviews::add_action_item
        ))
        .routes(routes!(reviews::patch_incident_action_item))
        .routes(routes!(reviews::list_action_items))
        .routes(routes!(reviews::patch_action_item))
        .routes(routes!(incidents::escalate))
        .routes(routes!(incidents::page))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::resolve))
        .routes(routes!(incidents::reopen))
        .routes(routes!(incidents::reassign))
        .routes(routes!(changes::record_change))
        .routes(routes!(chat::chat))
        .routes(routes!(heartbeats::list_heartbeats))
        .routes(routes!(heartbeats::get_heartbeat))
        .routes(routes!(catalog::list_monitors))
        .routes(routes!(catalog::get_monitor))
        .routes(routes!(oncall::who))
        .routes(routes!(oncall::shifts))
        .routes(routes!(oncall::add_override))
        .routes(routes!(drill::start))
        .routes(routes!(drill::end))
        .routes(routes!(drill::report))
        .routes(routes!(catalog::list_schedule_overrides))
        .routes(routes!(
            catalog::get_schedule_override,
            oncall::delete_override
        ))
        .routes(routes!(catalog::list_message_templates))
        .routes(routes!(catalog::get_message_template))
        .routes(routes!(catalog::list_runbook_actions))
        .routes(routes!(catalog::get_runbook_action))
        .routes(routes!(chat::runbook_runs))
        .routes(routes!(ical::feed))
        .routes(routes!(config::plan))
        .routes(routes!(config::apply))
        .routes(routes!(crate::health::healthz))
        .routes(routes!(crate::health::readyz))
}
