-- Noise controls and Opsgenie request ids. Kept in step with the other backend.

-- Why an alert whose severity pages opened no incident: a silence or a
-- maintenance window matched it ('silence:<name>', 'maintenance:<name>').
ALTER TABLE alerts ADD COLUMN muted_by TEXT;

-- The request id answered to the sender (Opsgenie's requestId), so
-- GET /v2/alerts/requests/{id} can say which alert a request made.
ALTER TABLE events ADD COLUMN request_id TEXT;
CREATE INDEX events_request_id ON events (request_id) WHERE request_id IS NOT NULL;
