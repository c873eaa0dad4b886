// How answers name a subject (user, group, virtual account or key) without exposing the whole object.
import type { Subject } from "../../shared/policy/index.ts";
import { builder } from "../builder.ts";

export const SubjectKindEnum = builder.enumType("SubjectKind", {
  values: {
    USER: { value: "user" },
    GROUP: { value: "group" },
    VIRTUAL_ACCOUNT: { value: "virtualAccount" },
    API_KEY: { value: "apiKey" },
  } as const,
});

export const PolicySubjectRef = builder.objectRef<Subject>("PolicySubject").implement({
  description: "Who a grant, access, limit or budget belongs to. `name` is the user's email, the group's or account's name.",
  fields: (t) => ({
    kind: t.field({ type: SubjectKindEnum, resolve: (s) => s.kind }),
    id: t.exposeID("id"),
    name: t.exposeString("name"),
  }),
});

type SubjectColumns = {
  user?: { id: string; email: string } | null;
  group?: { id: string; name: string } | null;
  virtualAccount?: { id: string; name: string } | null;
};

/** Selection that loads a row's subject in the same query as the row. */
export const subjectSelect = {
  user: { select: { id: true, email: true } },
  group: { select: { id: true, name: true } },
  virtualAccount: { select: { id: true, name: true } },
} as const;

export function subjectOf(row: SubjectColumns): Subject {
  if (row.user) return { kind: "user", id: row.user.id, name: row.user.email };
  if (row.group) return { kind: "group", id: row.group.id, name: row.group.name };
  if (row.virtualAccount) return { kind: "virtualAccount", id: row.virtualAccount.id, name: row.virtualAccount.name };
  throw new Error("row has no subject");
}
