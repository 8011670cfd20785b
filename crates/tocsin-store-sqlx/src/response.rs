//! [`ResponseStore`](tocsin_store::ResponseStore): declared incidents and
//! every response change, each batch in one transaction taken like an
//! ingest batch ([`crate::Dialect::begin_ingest`]), so it never interleaves
//! with one or with a status change by hand: what a change reads to decide
//! (the current role holder, whether the incident exists) stays true until
//! it commits.
//!
//! A change carrying what it was read with is a compare-and-set, written
//! as an `UPDATE … WHERE` on that value where one statement can say it;
//! the first change that finds its row moved or missing rolls the whole
//! batch back, with its entries, notifications and jobs, and is named in
//! [`Responded::Conflict`](tocsin_store::Responded).
//!
//! Invariant: no SQL text here; statements, the filters' statement
//! builders and row decoding are in [`tocsin_store::sql`].

/// Expanded by [`crate::impl_store!`], in its scope. Uses the names the
/// escalation (`record_step_in`, `enqueue_job_in`, `NewTimelineEntry`,
/// `NewIntent`, `TimelineRecord`, `TimelineRow`) and ingest
/// (`IncidentRecord`, `IncidentRow`) expansions bring into it.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_response_store {
    ($store:ty) => {
        use $crate::__private::tocsin_domain::response::Role as IncidentRole;
        use $crate::__private::tocsin_store::response::{
            ActionItemQuery, ActionItemRecord, ENTRY_DECLARED, IncidentFilter, NewIncident,
            ResponseChange, ResponseRecord, ResponseStore, Responded, ReviewRecord,
            declared_entry_key,
        };
        use $crate::__private::tocsin_store::sql::{
            ActionItemRow, Bind, ReviewRow, RoleRow, UpdateRow,
        };

        #[async_trait]
        impl ResponseStore for $store {
            async fn declare_incident(
                &self,
                new: &NewIncident,
                now: Timestamp,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_ingest().await?;
                let result = declare_in(&mut tx, new, now).await;
                $crate::finish::<$store, _>(tx, result, "incident declaration").await
            }

            async fn respond(
                &self,
                changes: &[ResponseChange],
                entries: &[NewTimelineEntry],
                notifications: &[NewIntent],
                jobs: &[NewJob],
                now: Timestamp,
            ) -> Result<Responded, StoreError> {
                let mut tx = self.begin_ingest().await?;
                let result = respond_in(&mut tx, changes, entries, notifications, jobs, now).await;
                match result {
                    Ok(conflict @ Responded::Conflict { .. }) => {
                        tx.rollback().await.map_err(map)?;
                        Ok(conflict)
                    }
                    other => $crate::finish::<$store, _>(tx, other, "incident response").await,
                }
            }

            async fn response(&self, incident: i64) -> Result<ResponseRecord, StoreError> {
                let mut conn = self.pool().acquire().await.map_err(map)?;
                let services: Vec<String> = sqlx::query_scalar(sql::SERVICES_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                let mut also_services = services
                    .iter()
                    .map(|s| sql::parse_name(s))
                    .collect::<Result<Vec<_>, _>>()?;
                also_services.sort();
                let roles: Vec<RoleRow> = sqlx::query_as(sql::ROLES_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                let mut roles = roles
                    .into_iter()
                    .map(sql::role_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                sql::sort_roles(&mut roles);
                let mut stakeholders: Vec<(String, i64)> =
                    sqlx::query_as(sql::STAKEHOLDERS_OF_INCIDENT)
                        .bind(incident)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map)?;
                stakeholders.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
                let cadence: Option<(Option<i64>, Option<i64>)> =
                    sqlx::query_as(sql::CADENCE_OF_INCIDENT)
                        .bind(incident)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(map)?;
                let (every_minutes, next_due) = cadence.unwrap_or_default();
                let updates: Vec<UpdateRow> = sqlx::query_as(sql::UPDATES_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                let pinned: Vec<i64> = sqlx::query_scalar(sql::PINNED_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                Ok(ResponseRecord {
                    also_services,
                    roles,
                    stakeholders: stakeholders.into_iter().map(|(s, _)| s).collect(),
                    every_minutes,
                    next_update_due: next_due.map(sql::timestamp).transpose()?,
                    updates: updates
                        .into_iter()
                        .map(sql::update_from_row)
                        .collect::<Result<_, _>>()?,
                    pinned,
                })
            }

            async fn timeline_after(
                &self,
                incident: i64,
                after: i64,
                limit: u32,
            ) -> Result<Vec<TimelineRecord>, StoreError> {
                let rows: Vec<TimelineRow> = sqlx::query_as(sql::TIMELINE_AFTER)
                    .bind(incident)
                    .bind(after)
                    .bind(i64::from(limit.clamp(1, 10_000)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::timeline_from_row).collect()
            }

            async fn review(&self, incident: i64) -> Result<Option<ReviewRecord>, StoreError> {
                let row: Option<ReviewRow> = sqlx::query_as(sql::REVIEW_OF_INCIDENT)
                    .bind(incident)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::review_from_row).transpose()
            }

            async fn action_items(
                &self,
                query: &ActionItemQuery,
            ) -> Result<Vec<ActionItemRecord>, StoreError> {
                let built = sql::list_action_items(query);
                let mut q = sqlx::query_as::<_, ActionItemRow>(sqlx::AssertSqlSafe(built.text));
                for b in built.binds {
                    q = match b {
                        Bind::Int(v) => q.bind(v),
                        Bind::Text(v) => q.bind(v),
                    };
                }
                let rows = q.fetch_all(self.pool()).await.map_err(map)?;
                rows.into_iter().map(sql::action_item_from_row).collect()
            }

            async fn search_incidents(
                &self,
                filter: &IncidentFilter,
            ) -> Result<Vec<IncidentRecord>, StoreError> {
                let built = sql::search_incidents(filter);
                let mut q = sqlx::query_as::<_, IncidentRow>(sqlx::AssertSqlSafe(built.text));
                for b in built.binds {
                    q = match b {
                        Bind::Int(v) => q.bind(v),
                        Bind::Text(v) => q.bind(v),
                    };
                }
                let rows = q.fetch_all(self.pool()).await.map_err(map)?;
                rows.into_iter().map(sql::incident_from_row).collect()
            }
        }

        /// The incident, its other services, its commander, its declared
        /// entry and, when it pages, its first page.
        async fn declare_in(
            conn: &mut Conn,
            new: &NewIncident,
            now: Timestamp,
        ) -> Result<i64, StoreError> {
            use $crate::__private::tocsin_store::ingest::{JOB_INCIDENT_PAGE, incident_job_key};
            let ms = sql::millis(now);
            let (status, acknowledged_at) = if new.page {
                ("triggered", None)
            } else {
                ("acknowledged", Some(ms))
            };
            let (id,): (i64,) = sqlx::query_as(sql::INSERT_DECLARED_INCIDENT)
                .bind(new.service.as_str())
                .bind(&new.title)
                .bind(new.severity.to_string())
                .bind(status)
                .bind(acknowledged_at)
                .bind(new.page)
                .bind(new.summary.as_deref())
                .bind(ms)
                .fetch_one(&mut *conn)
                .await
                .map_err(map)?;
            for service in new.also_services.iter().filter(|s| **s != new.service) {
                sqlx::query(sql::ADD_INCIDENT_SERVICE)
                    .bind(id)
                    .bind(service.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            if let Some(commander) = &new.commander {
                sqlx::query(sql::INSERT_ROLE)
                    .bind(id)
                    .bind(IncidentRole::Commander.as_str())
                    .bind(commander.as_str())
                    .bind(ms)
                    .bind(&new.entry.actor)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            let entry = NewTimelineEntry {
                incident: id,
                at: now,
                kind: ENTRY_DECLARED.to_owned(),
                actor: new.entry.actor.clone(),
                detail: new.entry.detail.clone(),
                key: declared_entry_key(id),
            };
            let page = new.page.then(|| NewJob {
                kind: JOB_INCIDENT_PAGE.to_owned(),
                key: incident_job_key(JOB_INCIDENT_PAGE, id, 0),
                payload: serde_json::json!({ "incident": id, "run": 0 }),
                due_at: now,
            });
            record_step_in(conn, &[entry], &[], page.as_ref(), now).await?;
            Ok(id)
        }

        /// Applies the changes in order, then writes what they cause;
        /// stops at the first change that does not apply.
        async fn respond_in(
            conn: &mut Conn,
            changes: &[ResponseChange],
            entries: &[NewTimelineEntry],
            notifications: &[NewIntent],
            jobs: &[NewJob],
            now: Timestamp,
        ) -> Result<Responded, StoreError> {
            let mut action_items = Vec::new();
            for (index, change) in changes.iter().enumerate() {
                if !apply_change(conn, change, now, &mut action_items).await? {
                    return Ok(Responded::Conflict { change: index });
                }
            }
            record_step_in(conn, entries, notifications, None, now).await?;
            let ms = sql::millis(now);
            for job in jobs {
                enqueue_job_in(conn, job, ms).await?;
            }
            Ok(Responded::Applied { action_items })
        }

        /// The incident's primary service; `None`: no such incident.
        async fn incident_service(conn: &mut Conn, id: i64) -> Result<Option<String>, StoreError> {
            sqlx::query_scalar(sql::INCIDENT_SERVICE)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map)
        }

        /// One change; `false`: its row moved or is missing.
        async fn apply_change(
            conn: &mut Conn,
            change: &ResponseChange,
            now: Timestamp,
            action_items: &mut Vec<i64>,
        ) -> Result<bool, StoreError> {
            let ms = sql::millis(now);
            let applied = match change {
                ResponseChange::Severity { incident, from, to } => {
                    sqlx::query(sql::SET_SEVERITY)
                        .bind(*incident)
                        .bind(from.to_string())
                        .bind(to.to_string())
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected()
                        > 0
                }
                ResponseChange::Describe {
                    incident,
                    title,
                    summary,
                } => {
                    sqlx::query(sql::DESCRIBE_INCIDENT)
                        .bind(*incident)
                        .bind(title.as_deref())
                        .bind(summary.as_deref())
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected()
                        > 0
                }
                ResponseChange::AddService { incident, service } => {
                    match incident_service(conn, *incident).await? {
                        None => false,
                        Some(primary) if primary == service.as_str() => true,
                        Some(_) => {
                            sqlx::query(sql::ADD_INCIDENT_SERVICE)
                                .bind(*incident)
                                .bind(service.as_str())
                                .execute(&mut *conn)
                                .await
                                .map_err(map)?;
                            true
                        }
                    }
                }
                ResponseChange::AssignRole {
                    incident,
                    role,
                    user,
                    from,
                    at,
                    by,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    if role.is_single() {
                        let holders: Vec<String> = sqlx::query_scalar(sql::ROLE_HOLDERS)
                            .bind(*incident)
                            .bind(role.as_str())
                            .fetch_all(&mut *conn)
                            .await
                            .map_err(map)?;
                        let current = holders.first().map(String::as_str);
                        if current != from.as_ref().map(Name::as_str) {
                            return Ok(false);
                        }
                        if current == Some(user.as_str()) {
                            return Ok(true);
                        }
                        sqlx::query(sql::DELETE_ROLE_HOLDERS)
                            .bind(*incident)
                            .bind(role.as_str())
                            .execute(&mut *conn)
                            .await
                            .map_err(map)?;
                    }
                    sqlx::query(sql::INSERT_ROLE)
                        .bind(*incident)
                        .bind(role.as_str())
                        .bind(user.as_str())
                        .bind(sql::millis(*at))
                        .bind(by)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::UnassignRole {
                    incident,
                    role,
                    user,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    sqlx::query(sql::DELETE_ROLE)
                        .bind(*incident)
                        .bind(role.as_str())
                        .bind(user.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::Pin {
                    incident,
                    entry,
                    pinned,
                } => {
                    sqlx::query(sql::PIN_ENTRY)
                        .bind(*incident)
                        .bind(*entry)
                        .bind(*pinned)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected()
                        > 0
                }
                ResponseChange::AddStakeholder {
                    incident,
                    stakeholder,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    sqlx::query(sql::ADD_STAKEHOLDER)
                        .bind(*incident)
                        .bind(stakeholder)
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::RemoveStakeholder {
                    incident,
                    stakeholder,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    sqlx::query(sql::REMOVE_STAKEHOLDER)
                        .bind(*incident)
                        .bind(stakeholder)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::Cadence {
                    incident,
                    every_minutes,
                    next_due,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    sqlx::query(sql::SET_CADENCE)
                        .bind(*incident)
                        .bind(*every_minutes)
                        .bind(next_due.map(sql::millis))
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::Update {
                    incident,
                    state,
                    audience,
                    body,
                    author,
                    at,
                    next_due,
                    key,
                } => {
                    if incident_service(conn, *incident).await?.is_none() {
                        return Ok(false);
                    }
                    let written = sqlx::query(sql::INSERT_UPDATE)
                        .bind(*incident)
                        .bind(sql::millis(*at))
                        .bind(author)
                        .bind(state.as_str())
                        .bind(audience.as_str())
                        .bind(body)
                        .bind(key)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected();
                    if written > 0 {
                        sqlx::query(sql::MOVE_CADENCE_DUE)
                            .bind(*incident)
                            .bind(next_due.map(sql::millis))
                            .execute(&mut *conn)
                            .await
                            .map_err(map)?;
                    }
                    true
                }
                ResponseChange::Merge { from, into, at } => {
                    if from == into {
                        return Ok(false);
                    }
                    let (open,): (i64,) = sqlx::query_as(sql::COUNT_OPEN_ALERTS_OF_INCIDENT)
                        .bind(*from)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(map)?;
                    let grown = sqlx::query(sql::MERGE_INTO)
                        .bind(*into)
                        .bind(open)
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected();
                    if grown == 0 {
                        return Ok(false);
                    }
                    let merged = sqlx::query(sql::MERGE_AWAY)
                        .bind(*from)
                        .bind(*into)
                        .bind(sql::millis(*at))
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected();
                    if merged == 0 {
                        return Ok(false);
                    }
                    sqlx::query(sql::MOVE_ALERTS)
                        .bind(*from)
                        .bind(*into)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    true
                }
                ResponseChange::Close { incident, at } => {
                    sqlx::query(sql::CLOSE_INCIDENT)
                        .bind(*incident)
                        .bind(sql::millis(*at))
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected()
                        > 0
                }
                ResponseChange::Review {
                    incident,
                    doc,
                    done,
                    expected_version,
                    by,
                    at,
                } => {
                    let doc = doc.to_string();
                    let written = if *expected_version == 0 {
                        if incident_service(conn, *incident).await?.is_none() {
                            return Ok(false);
                        }
                        sqlx::query(sql::INSERT_REVIEW)
                            .bind(*incident)
                            .bind(doc)
                            .bind(*done)
                            .bind(sql::millis(*at))
                            .bind(by)
                            .execute(&mut *conn)
                            .await
                    } else {
                        sqlx::query(sql::UPDATE_REVIEW)
                            .bind(*incident)
                            .bind(doc)
                            .bind(*done)
                            .bind(sql::millis(*at))
                            .bind(by)
                            .bind(*expected_version)
                            .execute(&mut *conn)
                            .await
                    };
                    written.map_err(map)?.rows_affected() > 0
                }
                ResponseChange::AddActionItem(item) => {
                    if incident_service(conn, item.incident).await?.is_none() {
                        return Ok(false);
                    }
                    let (id,): (i64,) = sqlx::query_as(sql::INSERT_ACTION_ITEM)
                        .bind(item.incident)
                        .bind(&item.title)
                        .bind(item.owner.as_str())
                        .bind(item.team.as_ref().map(|t| t.as_str().to_owned()))
                        .bind(sql::date_text(item.due_on))
                        .bind(sql::millis(item.at))
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(map)?;
                    action_items.push(id);
                    true
                }
                ResponseChange::ActionItemDone { id, done, at } => {
                    let q = if *done {
                        sqlx::query(sql::ACTION_ITEM_DONE)
                            .bind(*id)
                            .bind(sql::millis(*at))
                    } else {
                        sqlx::query(sql::ACTION_ITEM_REOPEN).bind(*id)
                    };
                    q.execute(&mut *conn).await.map_err(map)?.rows_affected() > 0
                }
                ResponseChange::ActionItemReminded { id, at } => {
                    sqlx::query(sql::ACTION_ITEM_REMINDED)
                        .bind(*id)
                        .bind(sql::millis(*at))
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?
                        .rows_affected()
                        > 0
                }
            };
            Ok(applied)
        }
    };
}
