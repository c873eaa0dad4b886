// Mails invite links when SMTP_URL is configured; a failed send is reported per invite, never thrown.
import nodemailer from "nodemailer";
import type { Config } from "../../shared/config.ts";

export interface InviteMail {
  to: string;
  acceptUrl: string;
}

type MailConfig = Pick<Config, "SMTP_FROM" | "publicUrl"> & { SMTP_URL: string };

/** Sends each mail; returns, per mail in order, null when sent or the reason it was not. */
export async function sendInviteMails(config: MailConfig, mails: InviteMail[]): Promise<(string | null)[]> {
  if (mails.length === 0) return [];
  // Short timeouts: the admin is waiting on the mutation, and a dead mail server must not hold it for minutes.
  const transport = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: 3,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    return await Promise.all(
      mails.map(async (mail) => {
        try {
          await transport.sendMail({ from: config.SMTP_FROM, to: mail.to, ...inviteMessage(config.publicUrl, mail.acceptUrl) });
          return null;
        } catch (error) {
          return `could not send the invite mail: ${error instanceof Error ? error.message : String(error)}`;
        }
      }),
    );
  } finally {
    transport.close();
  }
}

function inviteMessage(publicUrl: string, acceptUrl: string) {
  return {
    subject: "You are invited to Tollgate",
    text: [
      `You have been invited to the Tollgate AI gateway at ${publicUrl}.`,
      "",
      "Open this link to accept and get your first API key:",
      acceptUrl,
      "",
      "The link works once and expires; ask your administrator for a new one if it no longer works.",
    ].join("\n"),
  };
}
