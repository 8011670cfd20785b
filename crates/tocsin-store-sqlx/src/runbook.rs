//! [`RunbookStore`](tocsin_store::RunbookStore): runbook runs, recorded
//! before their action runs (insert-if-absent by run id) and finished once,
//! with their timeline and audit entries in the finishing transaction.
//!
//! Invariants: starting a run that exists writes nothing and says so;
//! finishing changes only a run without an outcome, and writes its entries
//! only then.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_runbook_store {
    ($store:ty) => {
        #[async_trait]
        impl $crate::__private::tocsin_store::RunbookStore for $store {
            async fn start_runbook_run(
                &self,
                run: &$crate::__private::tocsin_store::NewRunbookRun,
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let result = sqlx::query(sql::INSERT_RUNBOOK_RUN)
                    .bind(run.id.as_str())
                    .bind(run.action.as_str())
                    .bind(run.command.as_str())
                    .bind(run.incident)
                    .bind(run.actor.as_str())
                    .bind(run.via.as_str())
                    .bind(sql::millis(now))
                    .bind(run.detail.to_string())
                    .execute(&mut *tx)
                    .await
                    .map(|done| done.rows_affected() > 0)
                    .map_err(map);
                $crate::finish::<$store, bool>(tx, result, "runbook run start").await
            }

            async fn finish_runbook_run(
                &self,
                id: &str,
                outcome: $crate::__private::tocsin_store::RunOutcome,
                detail: &serde_json::Value,
                entries: &[$crate::__private::tocsin_store::NewTimelineEntry],
                audit: &[AuditEntry],
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                audited(self, "runbook run finish", audit, now, async |conn| {
                    let done = sqlx::query(sql::FINISH_RUNBOOK_RUN)
                        .bind(id)
                        .bind(sql::millis(now))
                        .bind(outcome.as_str())
                        .bind(detail.to_string())
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
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
                    Ok(true)
                })
                .await
            }

            async fn runbook_run(
                &self,
                id: &str,
            ) -> Result<Option<$crate::__private::tocsin_store::RunbookRunRecord>, StoreError> {
                let row: Option<sql::RunbookRunRow> = sqlx::query_as(sql::RUNBOOK_RUN_BY_ID)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::runbook_run_from_row).transpose()
            }

            async fn recent_runbook_runs(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::__private::tocsin_store::RunbookRunRecord>, StoreError> {
                let rows: Vec<sql::RunbookRunRow> = sqlx::query_as(sql::RUNBOOK_RUNS_RECENT)
                    .bind(sql::runbook_runs_limit(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::runbook_run_from_row).collect()
            }
        }
    };
}
