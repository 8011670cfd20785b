//! [`EscalationStore`](tocsin_store::EscalationStore): a step's timeline
//! entries, intents and next job in one write transaction; every insert
//! skips a row whose key exists, so a step run twice writes once.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_escalation_store {
    ($store:ty) => {
        use $crate::__private::tocsin_store::escalation::{
            EscalationStore, IncidentChange, IntentRecord, NewIntent, NewTimelineEntry,
            TimelineRecord,
        };
        use $crate::__private::tocsin_store::sql::{IntentRow, TimelineRow};

        #[async_trait]
        impl EscalationStore for $store {
            async fn change_incident(
                &self,
                change: &IncidentChange,
                entries: &[NewTimelineEntry],
                intents: &[NewIntent],
                jobs: &[NewJob],
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_ingest().await?;
                let result = change_incident_in(&mut tx, change, entries, intents, jobs, now).await;
                match result {
                    Ok(false) => {
                        tx.rollback().await.map_err(map)?;
                        Ok(false)
                    }
                    other => $crate::finish::<$store, _>(tx, other, "incident change").await,
                }
            }

            async fn record_step(
                &self,
                entries: &[NewTimelineEntry],
                intents: &[NewIntent],
                next: Option<&NewJob>,
                now: Timestamp,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let result = record_step_in(&mut tx, entries, intents, next, now).await;
                $crate::finish::<$store, _>(tx, result, "escalation step").await
            }

            async fn incident_timeline(
                &self,
                incident: i64,
            ) -> Result<Vec<TimelineRecord>, StoreError> {
                let rows: Vec<TimelineRow> = sqlx::query_as(sql::TIMELINE_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::timeline_from_row).collect()
            }

            async fn incident_intents(
                &self,
                incident: i64,
            ) -> Result<Vec<IntentRecord>, StoreError> {
                let rows: Vec<IntentRow> = sqlx::query_as(sql::INTENTS_OF_INCIDENT)
                    .bind(incident)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter()
                    .map(
                        |(id, incident, user, contact, kind, address, due, level, cycle, state)| {
                            Ok(IntentRecord {
                                id,
                                incident,
                                user: user.as_deref().map(sql::parse_name).transpose()?,
                                contact: sql::parse_name(&contact)?,
                                kind,
                                address,
                                due_at: sql::timestamp(due)?,
                                level,
                                cycle,
                                state,
                            })
                        },
                    )
                    .collect()
            }
        }

        async fn change_incident_in(
            conn: &mut Conn,
            c: &IncidentChange,
            entries: &[NewTimelineEntry],
            intents: &[NewIntent],
            jobs: &[NewJob],
            now: Timestamp,
        ) -> Result<bool, StoreError> {
            let ms = sql::millis(now);
            let open_alerts: Option<i64> = c.resolve_alerts.then_some(0);
            let changed = sqlx::query(sql::CHANGE_INCIDENT)
                .bind(c.incident)
                .bind(c.to.as_str())
                .bind(c.acknowledged_at.map(sql::millis))
                .bind(c.resolved_at.map(sql::millis))
                .bind(c.run)
                .bind(open_alerts)
                .bind(ms)
                .bind(c.from.as_str())
                .bind(c.from_run)
                .execute(&mut *conn)
                .await
                .map_err(map)?
                .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            if c.resolve_alerts {
                sqlx::query(sql::RESOLVE_ALERTS_OF_INCIDENT)
                    .bind(c.incident)
                    .bind(ms)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            record_step_in(conn, entries, intents, None, now).await?;
            for job in jobs {
                enqueue_job_in(conn, job, ms).await?;
            }
            Ok(true)
        }

        /// Enqueues a job within a transaction; a job whose key exists is
        /// left as it is.
        async fn enqueue_job_in(conn: &mut Conn, job: &NewJob, now_ms: i64) -> Result<(), StoreError> {
            sqlx::query(sql::ENQUEUE_JOB)
                .bind(&job.kind)
                .bind(&job.key)
                .bind(job.payload.to_string())
                .bind(sql::millis(job.due_at))
                .bind(now_ms)
                .execute(&mut *conn)
                .await
                .map_err(map)?;
            Ok(())
        }

        async fn record_step_in(
            conn: &mut Conn,
            entries: &[NewTimelineEntry],
            intents: &[NewIntent],
            next: Option<&NewJob>,
            now: Timestamp,
        ) -> Result<(), StoreError> {
            let ms = sql::millis(now);
            for e in entries {
                sqlx::query(sql::INSERT_TIMELINE)
                    .bind(e.incident)
                    .bind(sql::millis(e.at))
                    .bind(&e.kind)
                    .bind(&e.actor)
                    .bind(e.detail.to_string())
                    .bind(&e.key)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            for i in intents {
                let kind = serde_json::to_value(i.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let inserted = sqlx::query(sql::INSERT_NOTIFICATION)
                    .bind(i.incident)
                    .bind(i.purpose.as_str())
                    .bind(i.user.as_ref().map(|u| u.as_str()))
                    .bind(i.contact.as_str())
                    .bind(kind)
                    .bind(&i.address)
                    .bind(sql::millis(i.due_at))
                    .bind(i64::try_from(i.level).unwrap_or(i64::MAX))
                    .bind(i64::from(i.cycle))
                    .bind(i.previous.as_deref())
                    .bind(ms)
                    .bind(&i.key)
                    .bind(i.text.as_deref())
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?
                    .rows_affected();
                if inserted > 0 {
                    use $crate::__private::tocsin_store::notify::{JOB_NOTIFY_DELIVER, deliver_job_key};
                    sqlx::query(sql::ENQUEUE_JOB)
                        .bind(JOB_NOTIFY_DELIVER)
                        .bind(deliver_job_key(&i.key))
                        .bind(serde_json::json!({ "notification": i.key }).to_string())
                        .bind(sql::millis(i.due_at))
                        .bind(ms)
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                }
            }
            if let Some(job) = next {
                enqueue_job_in(conn, job, ms).await?;
            }
            Ok(())
        }
    };
}
