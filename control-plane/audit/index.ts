// The audit domain: registers the AuditEvent type, the audit log query and the live audit subscription.
import "./audit-event-type.ts";
import "./audit-queries.ts";
import "./audit-subscription.ts";
