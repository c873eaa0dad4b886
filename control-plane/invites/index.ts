// The invites domain: invite by email, accept with the link (public), list and revoke; the accept page is in use-invite-page.ts.
import "./invite-type.ts";
import "./invite-queries.ts";
import "./invite-users.ts";
import "./invite-revoke.ts";
import "./accept-invite.ts";
