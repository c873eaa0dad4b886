// Renders a users export as an XLSX workbook: one sheet "Users", a header row, one row per user.
import ExcelJS from "exceljs";
import type { UserExportRow } from "./user-export-rows.ts";

export const USER_EXPORT_COLUMNS = [
  { header: "Name", key: "name", width: 28 },
  { header: "Email", key: "email", width: 36 },
  { header: "Role", key: "role", width: 10 },
  { header: "Status", key: "status", width: 10 },
  { header: "Groups", key: "groups", width: 30 },
  { header: "Keys", key: "keyCount", width: 8 },
  { header: "Allowed providers", key: "allowedProviders", width: 30 },
  { header: "Last login (UTC)", key: "lastLoginAt", width: 20 },
] as const;

export async function userExportXlsx(rows: UserExportRow[], exportedAt: Date): Promise<Uint8Array<ArrayBuffer>> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "Tollgate";
  workbook.created = exportedAt;
  const sheet = workbook.addWorksheet("Users", { views: [{ state: "frozen", ySplit: 1 }] });
  sheet.columns = USER_EXPORT_COLUMNS.map((c) => ({ ...c }));
  sheet.getRow(1).font = { bold: true };
  sheet.getColumn("lastLoginAt").numFmt = "yyyy-mm-dd hh:mm:ss";
  // Cells are written as plain values: a name starting with "=" stays text, never a formula.
  for (const row of rows) {
    sheet.addRow({ ...row, groups: row.groups.join(", "), allowedProviders: row.allowedProviders.join(", ") });
  }
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}
