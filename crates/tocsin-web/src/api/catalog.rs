//! Reading declared objects: `GET /api/v1/<kind>` and `/api/v1/<kind>/<name>`.

use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use tocsin_core::catalog::{self, ObjectView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::catalog::Kind;

async fn list(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
) -> Result<Json<Vec<ObjectView>>, Problem> {
    caller.authorize(&Action::Read)?;
    Ok(Json(catalog::list(state.store.as_ref(), kind).await?))
}

async fn get(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    name: &str,
) -> Result<Json<ObjectView>, Problem> {
    caller.authorize(&Action::Read)?;
    let name = Name::parse(name).map_err(|e| {
        Problem::invalid(
            "the name in the URL is not a valid name",
            vec![Problem::field("name", e.to_string())],
        )
    })?;
    catalog::get(state.store.as_ref(), kind, &name)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no {} named {:?}", kind.label(), name.as_str())))
}

/// One list and one get handler per kind, each documented in OpenAPI.
macro_rules! kind_endpoints {
    ($list:ident, $get:ident, $kind:expr, $path:literal, $item:literal) => {
        #[doc = concat!("Lists every ", $item, ".")]
        #[utoipa::path(get, path = $path, tag = "catalog",
                    responses(
                        (status = 200, body = Vec<ObjectView>),
                        (status = 401, body = Problem, content_type = "application/problem+json"),
                    ))]
        pub async fn $list(
            State(state): State<AppState>,
            caller: Caller,
        ) -> Result<Json<Vec<ObjectView>>, Problem> {
            list(&state, &caller, $kind).await
        }

        #[doc = concat!("Reads one ", $item, " by name.")]
        #[utoipa::path(get, path = concat!($path, "/{name}"), tag = "catalog",
                    params(("name" = String, Path, description = "The object's name")),
                    responses(
                        (status = 200, body = ObjectView),
                        (status = 404, body = Problem, content_type = "application/problem+json"),
                    ))]
        pub async fn $get(
            State(state): State<AppState>,
            caller: Caller,
            Path(name): Path<String>,
        ) -> Result<Json<ObjectView>, Problem> {
            get(&state, &caller, $kind, &name).await
        }
    };
}

kind_endpoints!(list_users, get_user, Kind::User, "/api/v1/users", "user");
kind_endpoints!(list_teams, get_team, Kind::Team, "/api/v1/teams", "team");
kind_endpoints!(
    list_schedules,
    get_schedule,
    Kind::Schedule,
    "/api/v1/schedules",
    "schedule"
);
kind_endpoints!(
    list_escalation_policies,
    get_escalation_policy,
    Kind::EscalationPolicy,
    "/api/v1/escalation-policies",
    "escalation policy"
);
kind_endpoints!(
    list_services,
    get_service,
    Kind::Service,
    "/api/v1/services",
    "service"
);
kind_endpoints!(
    list_integrations,
    get_integration,
    Kind::Integration,
    "/api/v1/integrations",
    "integration"
);
kind_endpoints!(
    list_silences,
    get_silence,
    Kind::Silence,
    "/api/v1/silences",
    "silence"
);
kind_endpoints!(
    list_maintenance_windows,
    get_maintenance_window,
    Kind::MaintenanceWindow,
    "/api/v1/maintenance-windows",
    "maintenance window"
);

kind_endpoints!(
    list_schedule_overrides,
    get_schedule_override,
    Kind::ScheduleOverride,
    "/api/v1/schedule-overrides",
    "schedule override made at run time"
);

kind_endpoints!(
    list_message_templates,
    get_message_template,
    Kind::MessageTemplate,
    "/api/v1/message-templates",
    "message template"
);

kind_endpoints!(
    list_runbook_actions,
    get_runbook_action,
    Kind::RunbookAction,
    "/api/v1/runbook-actions",
    "runbook action"
);

kind_endpoints!(
    list_monitors,
    get_monitor,
    Kind::Monitor,
    "/api/v1/monitors",
    "monitor (a declared health check)"
);
