//! [`IngestStore`](tocsin_store::IngestStore): a batch of events stored, and
//! the alerting rules applied to it, in one write transaction (the group
//! commit). The transaction first takes the backend's ingest lock
//! ([`crate::Dialect::begin_ingest`]: PostgreSQL serializes ingest batches of
//! every instance; SQLite's write transaction already does), then loads the
//! snapshot of what is open for the batch's services and the services they
//! depend on, runs [`tocsin_domain::alerting::decide`] per event, and writes
//! the incidents, alerts, events and engine jobs that follow.
//!
//! Invariant: the rules live in the domain; this only loads and saves.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_ingest_store {
    ($store:ty) => {
        use std::collections::{HashMap as IngestMap, HashSet as IngestSet};
        use std::sync::Arc as IngestArc;
        use $crate::__private::tocsin_domain::alerting::{
            self, Outcome as RuleOutcome, Policy, Snapshot,
        };
        use $crate::__private::tocsin_store::ingest::{
            AlertRecord, EventRecord, IncidentQuery, IncidentRecord, IngestItem, IngestResult,
            IngestStore, JOB_INCIDENT_PAGE, JOB_INCIDENT_RESOLVED,
        };
        use $crate::__private::tocsin_store::sql::{AlertRow, EventRow, IncidentRow};

        #[async_trait]
        impl IngestStore for $store {
            async fn ingest(
                &self,
                items: &[IngestItem],
                policy: &IngestArc<Policy>,
                now: Timestamp,
            ) -> Result<Vec<IngestResult>, StoreError> {
                if items.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_ingest().await?;
                let result = ingest_in(&mut tx, items, policy, now).await;
                $crate::finish::<$store, _>(tx, result, "ingest batch").await
            }

            async fn list_incidents(
                &self,
                q: &IncidentQuery,
            ) -> Result<Vec<IncidentRecord>, StoreError> {
                let rows: Vec<IncidentRow> = sqlx::query_as(sql::LIST_INCIDENTS)
                    .bind(q.service.as_ref().map(|s| s.as_str().to_owned()))
                    .bind(q.open_only)
                    .bind(q.before_number)
                    .bind(i64::from(q.limit.clamp(1, 1000)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::incident_from_row).collect()
            }

            async fn get_incident(
                &self,
                number: i64,
            ) -> Result<Option<IncidentRecord>, StoreError> {
                let row: Option<IncidentRow> = sqlx::query_as(sql::INCIDENT_BY_ID)
                    .bind(number)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::incident_from_row).transpose()
            }

            async fn incident_alerts(&self, number: i64) -> Result<Vec<AlertRecord>, StoreError> {
                let rows: Vec<AlertRow> = sqlx::query_as(sql::ALERTS_OF_INCIDENT)
                    .bind(number)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::alert_from_row).collect()
            }

            async fn incident_events(
                &self,
                number: i64,
                limit: u32,
            ) -> Result<Vec<EventRecord>, StoreError> {
                let rows: Vec<EventRow> = sqlx::query_as(sql::EVENTS_OF_INCIDENT)
                    .bind(number)
                    .bind(i64::from(limit.clamp(1, 10_000)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::event_from_row).collect()
            }

            async fn recent_changes(
                &self,
                service: &Name,
                since: Timestamp,
                limit: u32,
            ) -> Result<Vec<EventRecord>, StoreError> {
                let rows: Vec<EventRow> = sqlx::query_as(sql::CHANGES_OF_SERVICE)
                    .bind(service.as_str())
                    .bind(sql::millis(since))
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::event_from_row).collect()
            }

            async fn get_alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError> {
                let row: Option<AlertRow> = sqlx::query_as(sql::ALERT_BY_ID)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::alert_from_row).transpose()
            }

            async fn open_alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
                let rows: Vec<AlertRow> = sqlx::query_as(sql::OPEN_ALERTS)
                    .bind(i64::from(limit.clamp(1, 100_000)))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::alert_from_row).collect()
            }

            async fn event_by_request(
                &self,
                request_id: &str,
            ) -> Result<Option<EventRecord>, StoreError> {
                let row: Option<EventRow> = sqlx::query_as(sql::EVENT_BY_REQUEST)
                    .bind(request_id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::event_from_row).transpose()
            }

            async fn count_events(&self) -> Result<i64, StoreError> {
                let (n,): (i64,) = sqlx::query_as(sql::COUNT_EVENTS)
                    .fetch_one(self.pool())
                    .await
                    .map_err(map)?;
                Ok(n)
            }
        }

        /// Loads the snapshot, applies the rules, writes the result.
        async fn ingest_in(
            conn: &mut Conn,
            items: &[IngestItem],
            policy: &IngestArc<Policy>,
            now: Timestamp,
        ) -> Result<Vec<IngestResult>, StoreError> {
            let mut snapshot = load_snapshot(conn, items, policy).await?;
            let decisions: Vec<_> = items
                .iter()
                .map(|i| alerting::decide(&mut snapshot, &i.service, &i.event, now))
                .collect();
            let ms = sql::millis(now);
            // Incidents first: alerts and events refer to their ids.
            for inc in snapshot.incidents.iter_mut().filter(|i| i.dirty) {
                match inc.id {
                    None => {
                        let (id,): (i64,) = sqlx::query_as(sql::INSERT_INCIDENT)
                            .bind(inc.service.as_str())
                            .bind(&inc.title)
                            .bind(inc.severity.to_string())
                            .bind(inc.status.as_str())
                            .bind(inc.group.clone())
                            .bind(sql::millis(inc.created_at))
                            .bind(inc.acknowledged_at.map(sql::millis))
                            .bind(inc.resolved_at.map(sql::millis))
                            .bind(inc.open_alerts)
                            .bind(inc.paged)
                            .bind(ms)
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(map)?;
                        inc.id = Some(id);
                    }
                    Some(id) => {
                        sqlx::query(sql::UPDATE_INCIDENT)
                            .bind(id)
                            .bind(inc.severity.to_string())
                            .bind(inc.status.as_str())
                            .bind(inc.acknowledged_at.map(sql::millis))
                            .bind(inc.resolved_at.map(sql::millis))
                            .bind(inc.open_alerts)
                            .bind(ms)
                            .execute(&mut *conn)
                            .await
                            .map_err(map)?;
                    }
                }
            }
            let incident_id = |ix: Option<usize>| {
                ix.and_then(|i| snapshot.incidents.get(i))
                    .and_then(|i| i.id)
            };
            let mut alert_ids: Vec<Option<i64>> = snapshot.alerts.iter().map(|a| a.id).collect();
            // Changed alerts, all in one round trip.
            let mut updates = Vec::new();
            for a in snapshot.alerts.iter().filter(|a| a.dirty) {
                let Some(id) = a.id else { continue };
                updates.push(sql::AlertUpdate {
                    id,
                    status: a.status.as_str(),
                    severity: a.severity.to_string(),
                    summary: a.summary.clone(),
                    count: a.count,
                    last_seen: sql::millis(a.last_seen),
                    incident_id: incident_id(a.incident),
                    labels: serde_json::to_string(&a.labels)
                        .map_err(|e| StoreError::Other(format!("labels: {e}")))?,
                    muted_by: a.muted.as_ref().map(|m| m.as_stored()),
                });
            }
            if !updates.is_empty() {
                <$store as Dialect>::update_alerts(conn, &updates).await?;
            }
            // New alerts, many per statement; ids come back by key.
            let new: Vec<usize> = (0..snapshot.alerts.len())
                .filter(|&i| snapshot.alerts[i].id.is_none())
                .collect();
            if !new.is_empty() {
                let mut by_key = IngestMap::new();
                let mut inserts = Vec::with_capacity(new.len());
                for &i in &new {
                    let a = &snapshot.alerts[i];
                    by_key.insert((a.service.as_str().to_owned(), a.dedup_key.clone()), i);
                    inserts.push(sql::AlertInsert {
                        service: a.service.as_str().to_owned(),
                        dedup_key: a.dedup_key.clone(),
                        status: a.status.as_str(),
                        severity: a.severity.to_string(),
                        summary: a.summary.clone(),
                        group_key: a.group.clone(),
                        labels: serde_json::to_string(&a.labels)
                            .map_err(|e| StoreError::Other(format!("labels: {e}")))?,
                        count: a.count,
                        first_seen: sql::millis(a.first_seen),
                        last_seen: sql::millis(a.last_seen),
                        incident_id: incident_id(a.incident),
                        muted_by: a.muted.as_ref().map(|m| m.as_stored()),
                    });
                }
                for (id, service, key) in <$store as Dialect>::insert_alerts(conn, &inserts).await?
                {
                    if let Some(&i) = by_key.get(&(service, key)) {
                        alert_ids[i] = Some(id);
                    }
                }
            }
            let mut results = Vec::with_capacity(items.len());
            let mut rows = Vec::with_capacity(items.len());
            let mut jobs: Vec<(&'static str, i64, i64)> = Vec::new();
            for (item, d) in items.iter().zip(&decisions) {
                let (alert, outcome) = match &d.outcome {
                    RuleOutcome::Opened {
                        alert,
                        muted: Some(_),
                        ..
                    } => (Some(*alert), "muted"),
                    RuleOutcome::Opened { alert, .. } => (Some(*alert), "opened"),
                    RuleOutcome::Counted { alert } => (Some(*alert), "counted"),
                    RuleOutcome::Acknowledged { alert } => (Some(*alert), "acknowledged"),
                    RuleOutcome::Resolved { alert } => (Some(*alert), "resolved"),
                    RuleOutcome::Noted { alert } => (Some(*alert), "noted"),
                    RuleOutcome::Ignored { .. } => (None, "ignored"),
                    RuleOutcome::Change => (None, "change"),
                };
                let alert_id = alert.and_then(|a| alert_ids.get(a).copied().flatten());
                let incident = incident_id(d.incident);
                let body = serde_json::to_string(&item.event)
                    .map_err(|e| StoreError::Other(format!("event: {e}")))?;
                let action = serde_json::to_value(item.event.action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                rows.push(sql::EventInsert {
                    received_at: sql::millis(item.received_at),
                    integration: item.integration.as_str().to_owned(),
                    service: item.service.as_str().to_owned(),
                    action,
                    dedup_key: item.event.dedup_key.clone(),
                    alert_id,
                    incident_id: incident,
                    body,
                    request_id: item.request_id.clone(),
                });
                if let Some(id) = incident {
                    let state = d.incident.and_then(|i| snapshot.incidents.get(i));
                    let run = state.map_or(0, |i| i.run);
                    if d.page {
                        jobs.push((JOB_INCIDENT_PAGE, id, run));
                    }
                    if d.incident_resolved && state.is_some_and(|i| i.paged) {
                        jobs.push((JOB_INCIDENT_RESOLVED, id, run));
                    }
                }
                results.push(IngestResult {
                    alert_id,
                    incident,
                    outcome,
                });
            }
            <$store as Dialect>::insert_events(conn, &rows).await?;
            for (kind, id, run) in jobs {
                let key = $crate::__private::tocsin_store::ingest::incident_job_key(kind, id, run);
                sqlx::query(sql::ENQUEUE_JOB)
                    .bind(kind)
                    .bind(&key)
                    .bind(format!("{{\"incident\":{id},\"run\":{run}}}"))
                    .bind(ms)
                    .bind(ms)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            Ok(results)
        }

        /// What is open for the batch: alerts by key, incidents of the
        /// batch's services and of the services they depend on, and the
        /// incidents those alerts belong to.
        async fn load_snapshot(
            conn: &mut Conn,
            items: &[IngestItem],
            policy: &IngestArc<Policy>,
        ) -> Result<Snapshot, StoreError> {
            let depends_on = &policy.depends_on;
            let mut services: IngestSet<&Name> = IngestSet::new();
            let mut keys: IngestSet<(&Name, &str)> = IngestSet::new();
            for i in items {
                services.insert(&i.service);
                if let Some(deps) = depends_on.get(&i.service) {
                    services.extend(deps.iter());
                }
                if !i.event.dedup_key.is_empty() {
                    keys.insert((&i.service, i.event.dedup_key.as_str()));
                }
            }
            let mut incidents = Vec::new();
            let mut index_of: IngestMap<i64, usize> = IngestMap::new();
            for s in services {
                let rows: Vec<IncidentRow> = sqlx::query_as(sql::OPEN_INCIDENTS_OF_SERVICE)
                    .bind(s.as_str())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map)?;
                for row in rows {
                    let r = sql::incident_from_row(row)?;
                    index_of.insert(r.number, incidents.len());
                    incidents.push(sql::incident_state(&r));
                }
            }
            let mut by_service: IngestMap<&Name, Vec<&str>> = IngestMap::new();
            for (service, key) in keys {
                by_service.entry(service).or_default().push(key);
            }
            let mut rows: Vec<AlertRow> = Vec::new();
            for (service, keys) in by_service {
                rows.extend(<$store as Dialect>::live_alerts(conn, service.as_str(), &keys).await?);
            }
            let mut alerts = Vec::new();
            for row in rows {
                let (mut alert, incident) = sql::alert_state_from_row(row)?;
                if let Some(id) = incident {
                    if !index_of.contains_key(&id) {
                        let row: Option<IncidentRow> = sqlx::query_as(sql::INCIDENT_BY_ID)
                            .bind(id)
                            .fetch_optional(&mut *conn)
                            .await
                            .map_err(map)?;
                        if let Some(row) = row {
                            let r = sql::incident_from_row(row)?;
                            index_of.insert(id, incidents.len());
                            incidents.push(sql::incident_state(&r));
                        }
                    }
                    alert.incident = index_of.get(&id).copied();
                }
                alerts.push(alert);
            }
            Ok(Snapshot::new(alerts, incidents, policy.clone()))
        }
    };
}
