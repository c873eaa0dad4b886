import { createServer } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashInviteToken } from "../../control-plane/invites/invite-token.ts";
import { startTestControlPlane, type GraphQLClient, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const INVITE = /* GraphQL */ `
  mutation ($input: InviteUsersInput!) {
    inviteUsers(input: $input) {
      __typename
      ... on InviteUsersResult { invites { acceptUrl mailError invite { id email role status expiresAt acceptedAt user { id email name role status } } } }
      ... on Error { code message }
      ... on ValidationError { issues { path message } }
      ... on ConflictError { field }
    }
  }`;
const ACCEPT = /* GraphQL */ `
  mutation ($input: AcceptInviteInput!) {
    acceptInvite(input: $input) {
      __typename
      ... on AcceptedInvite { email name role secret }
      ... on Error { code message }
      ... on ValidationError { issues { path message } }
      ... on NotFoundError { entity id }
    }
  }`;

let n = 0;
const unique = (name: string) => `${name}-${++n}-${Math.random().toString(36).slice(2, 7)}@invites.test`;
const tokenOf = (acceptUrl: string) => new URL(acceptUrl).searchParams.get("token")!;

async function invite(emails: string[], role?: string, client: GraphQLClient = cp) {
  const { inviteUsers } = await client.ok(INVITE, { input: { emails, ...(role ? { role } : {}) } });
  return inviteUsers;
}

async function accept(token: string, name?: string) {
  const { acceptInvite } = await cp.as(null).ok(ACCEPT, { input: { token, ...(name ? { name } : {}) } });
  return acceptInvite;
}

const counts = async () => ({
  users: await cp.prisma.user.count(),
  invites: await cp.prisma.invite.count(),
  keys: await cp.prisma.apiKey.count(),
  audits: await cp.prisma.auditEvent.count(),
});

describe("inviting users", () => {
  it("invites two emails: returns a link each, creates INVITED users with the role and grants them nothing", async () => {
    const [a, b] = [unique("ada"), unique("bob")];
    const result = await invite([` ${a.toUpperCase()} `, b, a], "ADMIN");
    expect(result.__typename).toBe("InviteUsersResult");
    expect(result.invites.map((i: any) => i.invite.email)).toEqual([a, b]);
    for (const created of result.invites) {
      expect(created.acceptUrl).toMatch(/^http:\/\/127\.0\.0\.1:4000\/invites\/accept\?token=[A-Za-z0-9_-]{43}$/);
      expect(created.mailError).toBeNull();
      expect(created.invite).toMatchObject({ role: "ADMIN", status: "PENDING", acceptedAt: null });
      expect(created.invite.user).toMatchObject({ email: created.invite.email, role: "ADMIN", status: "INVITED" });
      expect(created.invite.user.name).toBe(created.invite.email.split("@")[0]);
      const hours = (Date.parse(created.invite.expiresAt) - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(167);
      expect(hours).toBeLessThanOrEqual(168);
    }
    const userIds = result.invites.map((i: any) => i.invite.user.id);
    expect(await cp.prisma.modelGrant.count({ where: { userId: { in: userIds } } })).toBe(0);
    expect(await cp.prisma.providerAccess.count({ where: { userId: { in: userIds } } })).toBe(0);
    expect(await cp.prisma.apiKey.count({ where: { userId: { in: userIds } } })).toBe(0);
  });

  it("stores only the token's hash and audits the call once, without the token", async () => {
    const result = await invite([unique("hash")]);
    const token = tokenOf(result.invites[0].acceptUrl);
    const stored = await cp.prisma.invite.findUniqueOrThrow({ where: { id: result.invites[0].invite.id } });
    expect(stored.tokenHash).toBe(hashInviteToken(token));
    expect(stored.tokenHash).not.toContain(token);
    const audits = await cp.prisma.auditEvent.findMany({ where: { action: "invite.create", targetId: stored.id } });
    expect(audits).toHaveLength(1);
    expect(JSON.stringify([audits[0]!.before, audits[0]!.after])).not.toContain(token);
    expect(audits[0]!.actorLabel).toBe("owner@tollgate.test");
  });

  it("accepting activates the user with the given name and returns a first key that works", async () => {
    const email = unique("carol");
    const result = await invite([email]);
    const accepted = await accept(tokenOf(result.invites[0].acceptUrl), "Carol Jones");
    expect(accepted).toMatchObject({ __typename: "AcceptedInvite", email, name: "Carol Jones", role: "MEMBER" });
    const user = await cp.prisma.user.findUniqueOrThrow({ where: { email }, include: { apiKeys: true, invites: true } });
    expect(user).toMatchObject({ status: "ACTIVE", name: "Carol Jones" });
    expect(user.apiKeys).toEqual([expect.objectContaining({ name: "first key", scopes: ["admin", "inference"] })]);
    expect(user.invites[0]!.acceptedAt).toBeInstanceOf(Date);
    const self = await cp.as(accepted.secret).ok(`query ($id: ID!) { user(id: $id) { email status } }`, { id: user.id });
    expect(self.user).toEqual({ email, status: "ACTIVE" });
    const audit = await cp.prisma.auditEvent.findFirstOrThrow({ where: { action: "invite.accept", targetId: user.invites[0]!.id } });
    expect(audit.actorLabel).toBe("system");
    expect(JSON.stringify([audit.before, audit.after])).not.toContain(accepted.secret);
  });

  it("keeps the invited name when accepting without one", async () => {
    const email = unique("dora");
    const result = await invite([email]);
    expect(await accept(tokenOf(result.invites[0].acceptUrl))).toMatchObject({ name: email.split("@")[0] });
  });

  it("refuses a second accept of the same link with VALIDATION and changes nothing", async () => {
    const result = await invite([unique("twice")]);
    const token = tokenOf(result.invites[0].acceptUrl);
    expect((await accept(token)).__typename).toBe("AcceptedInvite");
    const before = await counts();
    const again = await accept(token);
    expect(again).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    expect(again.message).toContain("already accepted");
    expect(await counts()).toEqual(before);
  });

  it("refuses an expired link with VALIDATION and leaves the user INVITED", async () => {
    const result = await invite([unique("late")]);
    await cp.prisma.invite.update({ where: { id: result.invites[0].invite.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const before = await counts();
    const late = await accept(tokenOf(result.invites[0].acceptUrl));
    expect(late).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    expect(late.message).toContain("expired");
    expect(await counts()).toEqual(before);
    expect((await cp.prisma.user.findUniqueOrThrow({ where: { id: result.invites[0].invite.user.id } })).status).toBe("INVITED");
  });

  it("answers NOT_FOUND for an unknown token without revealing it", async () => {
    const unknown = await accept("not-a-real-token");
    expect(unknown).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "Invite", id: "(token)" });
  });

  it("refuses to invite an existing member with CONFLICT naming them, and creates nothing for any email", async () => {
    const member = await cp.userWithKey("MEMBER");
    const disabled = await cp.prisma.user.create({ data: { email: unique("off"), name: "Off", status: "DISABLED" } });
    const before = await counts();
    const result = await invite([unique("fresh"), member.email.toUpperCase(), disabled.email]);
    expect(result).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "emails" });
    expect(result.message).toContain(member.email);
    expect(result.message).toContain(disabled.email);
    expect(await counts()).toEqual(before);
  });

  it("re-inviting an invited email replaces the earlier link and the role", async () => {
    const email = unique("again");
    const first = await invite([email]);
    const second = await invite([email], "ADMIN");
    expect(second.invites[0].invite.user.id).toBe(first.invites[0].invite.user.id);
    const old = await accept(tokenOf(first.invites[0].acceptUrl));
    expect(old).toMatchObject({ __typename: "ValidationError" });
    expect(old.message).toContain("expired");
    expect(await accept(tokenOf(second.invites[0].acceptUrl))).toMatchObject({ __typename: "AcceptedInvite", role: "ADMIN" });
  });

  it("refuses empty lists, bad addresses and more than 100 emails with VALIDATION", async () => {
    const before = await counts();
    expect(await invite([])).toMatchObject({ __typename: "ValidationError" });
    expect(await invite(["not-an-email"])).toMatchObject({ __typename: "ValidationError" });
    const many = Array.from({ length: 101 }, (_, i) => `bulk${i}@invites.test`);
    expect(await invite(many)).toMatchObject({ __typename: "ValidationError" });
    expect(await counts()).toEqual(before);
  });

  it("lets only administrators invite, and only owners invite owners", async () => {
    const member = await cp.userWithKey("MEMBER");
    const admin = await cp.userWithKey("ADMIN");
    const before = await counts();
    const denied = await cp.as(member.secret).gql(INVITE, { input: { emails: [unique("nope")] } });
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const owner = await cp.as(admin.secret).gql(INVITE, { input: { emails: [unique("boss")], role: "OWNER" } });
    expect(owner.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const anonymous = await cp.as(null).gql(INVITE, { input: { emails: [unique("anon")] } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await counts()).toEqual(before);
    const byAdmin = await invite([unique("byadmin")], "ADMIN", cp.as(admin.secret));
    expect(byAdmin.__typename).toBe("InviteUsersResult");
  });

  it("lists invites by status and revokes a pending one", async () => {
    const [pending, revoked] = [unique("listp"), unique("listr")];
    const result = await invite([pending, revoked]);
    const revokedId = result.invites[1].invite.id;
    const { revokeInvite } = await cp.ok(`mutation ($id: ID!) { revokeInvite(id: $id) { __typename ... on Invite { status } } }`, { id: revokedId });
    expect(revokeInvite).toEqual({ __typename: "Invite", status: "EXPIRED" });
    expect((await accept(tokenOf(result.invites[1].acceptUrl))).__typename).toBe("ValidationError");
    const list = await cp.ok(`{ pending: invites(status: PENDING, first: 100) { totalCount edges { node { email } } }
                               expired: invites(status: EXPIRED, first: 100) { edges { node { email } } } }`);
    const emails = (conn: any) => conn.edges.map((e: any) => e.node.email);
    expect(emails(list.pending)).toContain(pending);
    expect(emails(list.pending)).not.toContain(revoked);
    expect(emails(list.expired)).toContain(revoked);
    const member = await cp.userWithKey("MEMBER");
    expect((await cp.as(member.secret).gql(`{ invites(first: 1) { totalCount } }`)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});

describe("the accept page", () => {
  it("serves a self-contained HTML form that never echoes the token", async () => {
    const origin = new URL(cp.url).origin;
    const evil = `"><script>alert(1)</script>`;
    const response = await fetch(`${origin}/invites/accept?token=${encodeURIComponent(evil)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await response.text();
    expect(html).toContain('<form id="accept">');
    expect(html).toContain('<input id="name"');
    expect(html).toContain("acceptInvite");
    expect(html).not.toContain("alert(1)");
    expect(html).not.toMatch(/<(link|img|iframe)\b|src="http/);
  });
});

describe("mailing invites", () => {
  it("mails the link when SMTP_URL is set, returns no link, and the mailed link works", async () => {
    const received: { to: string[]; body: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), body: Buffer.concat(chunks).toString("utf8") });
          callback();
        });
      },
    });
    const port = await new Promise<number>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve((smtp.server.address() as { port: number }).port)));
    const mailing = await startTestControlPlane({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_FROM: "Tollgate <noreply@invites.test>" } });
    try {
      const email = unique("mailed");
      const { inviteUsers } = await mailing.ok(INVITE, { input: { emails: [email] } });
      expect(inviteUsers.invites[0]).toMatchObject({ acceptUrl: null, mailError: null });
      expect(received).toHaveLength(1);
      expect(received[0]!.to).toEqual([email]);
      const text = decodeMail(received[0]!.body);
      expect(text).toContain("From: Tollgate <noreply@invites.test>");
      const link = /http:\/\/\S+\/invites\/accept\?token=([A-Za-z0-9_-]+)/.exec(text);
      expect(link).not.toBeNull();
      const { acceptInvite } = await mailing.as(null).ok(ACCEPT, { input: { token: link![1] } });
      expect(acceptInvite).toMatchObject({ __typename: "AcceptedInvite", email });
    } finally {
      await mailing.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it("keeps the invite and returns the link with the reason when mail cannot be sent", async () => {
    const deadPort = await freePort();
    const mailing = await startTestControlPlane({ env: { SMTP_URL: `smtp://127.0.0.1:${deadPort}` } });
    try {
      const email = unique("bounce");
      const { inviteUsers } = await mailing.ok(INVITE, { input: { emails: [email] } });
      const [created] = inviteUsers.invites;
      expect(created.acceptUrl).toContain("/invites/accept?token=");
      expect(created.mailError).toMatch(/could not send the invite mail/);
      expect(await mailing.prisma.invite.count({ where: { email } })).toBe(1);
      const { acceptInvite } = await mailing.as(null).ok(ACCEPT, { input: { token: tokenOf(created.acceptUrl) } });
      expect(acceptInvite.__typename).toBe("AcceptedInvite");
    } finally {
      await mailing.close();
    }
  });
});

/** Undoes quoted-printable soft line breaks and escapes, enough to read a plain-text mail. */
function decodeMail(raw: string): string {
  return raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
