// The users table (AI Access page): its extra columns on User and its summary line; the export lives in user-export*.ts.
import "./user-table-fields.ts";
import "./user-table-queries.ts";
