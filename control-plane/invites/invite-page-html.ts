// The accept-invite page: self-contained HTML (no external assets) whose script reads the token from the URL,
// calls acceptInvite and shows the new key once. Nothing from the request is written into the markup.
const ACCEPT_MUTATION = `mutation ($input: AcceptInviteInput!) {
  acceptInvite(input: $input) {
    __typename
    ... on AcceptedInvite { email name role secret }
    ... on Error { message }
  }
}`;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function invitePageHtml(nonce: string): string {
  const n = escapeHtml(nonce);
  // JSON inside <script>: escaping "<" keeps a "</script>" in the data from closing the element.
  const mutation = JSON.stringify(ACCEPT_MUTATION).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Accept your Tollgate invite</title>
<style nonce="${n}">
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem; color: #1d1d1f; }
  label, input, button { display: block; font: inherit; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; margin: .25rem 0 1rem; }
  button { padding: .5rem 1rem; cursor: pointer; }
  #key { font-family: ui-monospace, monospace; }
  #status { color: #b00020; min-height: 1.5em; }
</style>
</head>
<body>
<h1>Join Tollgate</h1>
<form id="accept">
  <label for="name">Your name (optional)</label>
  <input id="name" name="name" maxlength="100" autocomplete="name">
  <button id="submit" type="submit">Accept invite</button>
</form>
<p id="status" role="status"></p>
<section id="done" hidden>
  <p id="welcome"></p>
  <label for="key">Your API key, shown only this once: copy it now and keep it safe.</label>
  <input id="key" readonly>
  <button id="copy" type="button">Copy key</button>
  <p>Use it as <code>Authorization: Bearer &lt;key&gt;</code> for the control plane and the gateway.</p>
</section>
<script nonce="${n}">
(() => {
  const MUTATION = ${mutation};
  const $ = (id) => document.getElementById(id);
  const form = $("accept"), status = $("status"), submit = $("submit");
  const token = new URLSearchParams(location.search).get("token");
  if (!token) { form.hidden = true; status.textContent = "This link has no invite token. Open the link from your invite again."; return; }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = "";
    try {
      const response = await fetch(new URL("../graphql", location.href), {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: MUTATION, variables: { input: { token, name: $("name").value.trim() || null } } }),
      });
      const body = await response.json();
      const result = body.data && body.data.acceptInvite;
      if (result && result.__typename === "AcceptedInvite") {
        form.hidden = true;
        // The link is spent; keep it out of the history.
        history.replaceState(null, "", location.pathname);
        $("welcome").textContent = "Welcome, " + result.name + " (" + result.email + ", " + result.role + ").";
        $("key").value = result.secret;
        $("done").hidden = false;
        return;
      }
      status.textContent = (result && result.message) || (body.errors && body.errors[0] && body.errors[0].message) || "Something went wrong.";
    } catch (error) {
      status.textContent = "Could not reach Tollgate: " + error;
    }
    submit.disabled = false;
  });
  $("copy").addEventListener("click", async () => {
    const key = $("key");
    try { await navigator.clipboard.writeText(key.value); $("copy").textContent = "Copied"; }
    catch { key.select(); $("copy").textContent = "Press Ctrl+C / Cmd+C to copy"; }
  });
})();
</script>
</body>
</html>
`;
}
