// A browser client for saaskit's API: plain JavaScript with fetch, no build step.
//
// Token storage, and why:
// - The ACCESS token lives only in a variable of this script. Nothing else can read it
//   except code running in this page, and it is gone when the tab navigates away.
// - The REFRESH token is kept in sessionStorage. That is a tradeoff: sessionStorage
//   survives full-page navigations in this tab (the round trip through Stripe Checkout
//   and the customer portal, a reload), and is dropped when the tab closes; it is not
//   sent to any server by itself (unlike a cookie, so no CSRF), and other tabs and
//   origins cannot read it. But any script running in this page (an XSS bug, a
//   compromised third-party script) can read it, and a stolen refresh token is a
//   session until it is used by its owner again (saaskit then notices the reuse and
//   ends the session) or expires. Keeping it in memory only (set REFRESH_STORAGE to
//   "memory" below) narrows that window, at the cost of logging the user out on every
//   reload and every trip to Stripe. Either way: never use innerHTML with API data,
//   and serve the page with a strict Content-Security-Policy.
"use strict";

(() => {
  const REFRESH_STORAGE = "session"; // "session" (sessionStorage) or "memory"
  const REFRESH_KEY = "saaskit.refresh_token";

  const root = document.documentElement;
  const query = new URLSearchParams(window.location.search);
  // The API may live on another origin; that origin must then allow this page's origin
  // (SAASKIT_CORS__ORIGINS). Requests carry the token in a header, not in cookies.
  const API = (query.get("api") || root.dataset.api || "/api/v1").replace(/\/+$/, "");
  const marginSetting = query.get("refresh_margin") || root.dataset.refreshMargin || "";
  // "Sign in with ..." buttons: ?oauth=1 or data-oauth="1" when the API has providers.
  const oauthOn = (query.get("oauth") || root.dataset.oauth || "") === "1";

  const $ = (id) => document.getElementById(id);

  // ---- token state ----------------------------------------------------------------
  let accessToken = null;
  let memoryRefreshToken = null;
  let refreshTimer = null;
  let refreshInFlight = null;
  let refreshDueAt = null;
  let refreshCount = 0;
  let epoch = 0; // bumped when signing out: late answers of older requests are ignored

  const refreshToken = {
    get: () =>
      REFRESH_STORAGE === "session" ? window.sessionStorage.getItem(REFRESH_KEY) : memoryRefreshToken,
    set: (token) => {
      if (REFRESH_STORAGE === "session") window.sessionStorage.setItem(REFRESH_KEY, token);
      else memoryRefreshToken = token;
    },
    clear: () => {
      window.sessionStorage.removeItem(REFRESH_KEY);
      memoryRefreshToken = null;
    },
  };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.error ? body.error.code : null;
      // 403 mfa_required: the challenge the login's second step completes.
      this.challenge = body && body.error ? body.error.challenge_token || null : null;
    }
  }

  // One call to the API. With `auth`, the access token goes in the Authorization
  // header; a 401 triggers one refresh and one retry (the token may have expired while
  // the tab slept and the timer below was late).
  async function api(path, { method = "GET", body, auth = true, retried = false, cookies = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Only the provider link needs a cookie kept (it binds the flow to this browser).
      credentials: cookies ? "include" : "same-origin",
    });
    if (response.status === 401 && auth && !retried && refreshToken.get()) {
      if (await refresh()) return api(path, { method, body, auth, retried: true, cookies });
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function setTokens(pair) {
    accessToken = pair.access_token;
    refreshToken.set(pair.refresh_token);
    scheduleRefresh(pair.expires_in);
  }

  // --8<-- [start:refresh]
  // Refresh silently shortly before the access token expires: `refresh_margin` seconds
  // before (query parameter or data-refresh-margin), by default 60 s, or a quarter of
  // the lifetime for tokens shorter than 4 minutes.
  function scheduleRefresh(expiresIn) {
    const margin = marginSetting === "" ? Math.min(60, expiresIn / 4) : Number(marginSetting);
    const delay = Math.max(expiresIn - margin, 1);
    window.clearTimeout(refreshTimer);
    refreshDueAt = Date.now() + delay * 1000;
    refreshTimer = window.setTimeout(refresh, delay * 1000);
    tick();
  }

  // Refresh tokens are single use, and two refreshes with the same token end the
  // session (saaskit treats the second as theft): so at most one refresh is in flight,
  // and concurrent callers share its result.
  function refresh() {
    if (!refreshInFlight) {
      refreshInFlight = refreshOnce().finally(() => {
        refreshInFlight = null;
      });
    }
    return refreshInFlight;
  }

  async function refreshOnce() {
    const token = refreshToken.get();
    const started = epoch;
    if (!token) return false;
    try {
      const pair = await api("/auth/refresh", {
        method: "POST",
        body: { refresh_token: token },
        auth: false,
      });
      if (started !== epoch) return false; // signed out meanwhile
      setTokens(pair);
      refreshCount += 1;
      $("refresh-count").textContent = String(refreshCount);
      return true;
    } catch (error) {
      if (started !== epoch) return false;
      if (error.status === 401) {
        signedOut("Your session has ended; please log in again.");
      } else {
        // Rate limited, API down, network error: keep the session, try again soon.
        setStatus(`Could not refresh the session (${error.message}); retrying.`, true);
        window.clearTimeout(refreshTimer);
        refreshDueAt = Date.now() + 10000;
        refreshTimer = window.setTimeout(refresh, 10000);
        tick();
      }
      return false;
    }
  }
  // --8<-- [end:refresh]

  // ---- views ----------------------------------------------------------------------
  function setStatus(message, isError = false) {
    const status = $("status");
    status.textContent = message; // textContent, never innerHTML: API data is not HTML
    status.classList.toggle("error", isError);
  }

  function signedOut(message) {
    epoch += 1;
    accessToken = null;
    refreshToken.clear();
    window.clearTimeout(refreshTimer);
    refreshDueAt = null;
    tick();
    for (const id of ["me-email", "me-name", "me-id", "me-verified", "plan"]) {
      $(id).textContent = "";
    }
    $("signed-in").hidden = true;
    $("billing").hidden = true;
    $("mfa").hidden = true;
    $("mfa-enroll").hidden = true;
    $("mfa-codes").hidden = true;
    $("mfa-code-list").replaceChildren();
    $("mfa-secret").textContent = "";
    billingState = null;
    hidePreview();
    $("invoices").tBodies[0].replaceChildren();
    $("signed-out").hidden = false;
    if (message) setStatus(message);
  }

  async function showMe() {
    const me = await api("/users/me");
    $("me-email").textContent = me.email;
    $("me-name").textContent = me.full_name || "-";
    $("me-id").textContent = String(me.id);
    $("me-verified").textContent = me.is_verified ? "yes" : "no";
    $("signed-out").hidden = true;
    $("signed-in").hidden = false;
  }

  // ---- billing (shown when the API has the billing router) -------------------------
  let plans = null; // null: billing is off on this API
  let billingState = null; // GET /billing/subscription's answer
  let pendingChange = null; // the preview shown: { plan, interval, proration_date }
  let invoiceCursor = null;

  async function loadPlans() {
    try {
      plans = await api("/billing/plans", { auth: false });
    } catch (error) {
      if (error.status !== 404) setStatus(`Could not read the plans: ${error.message}`, true);
      plans = null;
    }
    renderPlans();
  }

  function selectedInterval() {
    return $("interval-year").checked ? "year" : "month";
  }

  // The plan's price for the chosen interval (its default price when it has no such one).
  function priceFor(plan, interval) {
    return (plan.prices || []).find((p) => p.interval === interval) || plan.price;
  }

  function currentPriceId() {
    const subscription = billingState && billingState.subscription;
    return billingState && billingState.entitled && subscription ? subscription.price_id : null;
  }

  // One button per plan that can be bought, at the chosen interval's price. Without a
  // subscription it starts a checkout; with one it previews a change (the current
  // price is not offered).
  function renderPlans() {
    const holder = $("plans");
    holder.replaceChildren();
    const interval = selectedInterval();
    const subscribed = currentPriceId() !== null;
    for (const plan of plans || []) {
      if (!plan.price) continue; // a free plan cannot be bought
      const price = priceFor(plan, interval);
      if (subscribed && price.id === currentPriceId()) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.plan = plan.key;
      button.dataset.interval = price.interval || "";
      const amount = price.unit_amount === null ? "" : formatPrice(price);
      button.textContent = `${subscribed ? "Switch to" : "Subscribe to"} ${plan.name}${amount}`;
      const action = subscribed ? () => previewChange(plan, price) : () => checkout(plan.key, price.interval);
      button.addEventListener("click", () => run(action));
      holder.append(button);
    }
  }

  function money(amount, currency) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount / 100);
  }

  function formatPrice(price) {
    return ` (${money(price.unit_amount, price.currency)}/${price.interval || "once"})`;
  }

  function day(iso) {
    return iso ? new Date(iso).toISOString().slice(0, 10) : "-";
  }

  function showBilling(state) {
    billingState = state;
    const plan = (plans || []).find((p) => p.key === state.plan);
    $("plan").textContent = plan ? plan.name : state.plan || "none";
    const subscription = state.subscription;
    $("subscription-status").textContent = subscription ? `(${subscription.status})` : "";
    const ending = Boolean(subscription && subscription.cancel_at_period_end);
    const live = Boolean(state.entitled && subscription);
    $("renewal").textContent = !live
      ? ""
      : ending
        ? `Cancels on ${day(subscription.current_period_end)}.`
        : `Renews on ${day(subscription.current_period_end)}.`;
    // Offer the prices of the interval the customer pays by now.
    const current = (plans || []).flatMap((p) => p.prices || []).find((p) => p.id === currentPriceId());
    if (current && (current.interval === "month" || current.interval === "year")) {
      $(`interval-${current.interval}`).checked = true;
    }
    $("cancel-subscription").hidden = !live || ending;
    $("resume-subscription").hidden = !live || !ending;
    hidePreview();
    renderPlans();
    $("billing").hidden = false;
  }

  // ---- plan change: preview first, then confirm with the preview's proration date ----
  async function previewChange(plan, price) {
    const body = { plan: plan.key, interval: price.interval };
    const preview = await api("/billing/subscription/preview", { method: "POST", body });
    pendingChange = { ...body, proration_date: preview.proration_date };
    $("preview-plan").textContent = `${plan.name}${formatPrice(price)}`;
    const rows = preview.lines.map((line) => {
      const row = document.createElement("tr");
      const what = document.createElement("td");
      what.textContent = line.description;
      const amount = document.createElement("td");
      amount.className = "amount";
      amount.textContent = money(line.amount, preview.currency);
      row.append(what, amount);
      return row;
    });
    $("preview-lines").replaceChildren(...rows);
    $("preview-due").textContent = money(preview.amount_due, preview.currency);
    $("preview").hidden = false;
  }

  function hidePreview() {
    pendingChange = null;
    $("preview").hidden = true;
  }

  async function confirmChange() {
    if (!pendingChange) return;
    const body = pendingChange;
    const state = await api("/billing/subscription/change", { method: "POST", body });
    showBilling(state);
    await loadInvoices(true);
    setStatus("Your plan was changed.");
  }

  async function cancelSubscription() {
    showBilling(await api("/billing/subscription/cancel", { method: "POST" }));
    setStatus("Your subscription ends at the end of the period.");
  }

  async function resumeSubscription() {
    showBilling(await api("/billing/subscription/resume", { method: "POST" }));
    setStatus("Your subscription continues.");
  }

  // ---- invoices, newest first, a page at a time ---------------------------------------
  function link(text, href) {
    const anchor = document.createElement("a");
    anchor.textContent = text;
    // only http(s) links from the API: never a javascript: URL
    if (href && /^https?:\/\//.test(href)) anchor.href = href;
    anchor.rel = "noopener noreferrer";
    anchor.target = "_blank";
    return anchor;
  }

  async function loadInvoices(fromStart) {
    const body = $("invoices").tBodies[0];
    if (fromStart) {
      invoiceCursor = null;
      body.replaceChildren();
    }
    const after = invoiceCursor ? `&starting_after=${encodeURIComponent(invoiceCursor)}` : "";
    const page = await api(`/billing/invoices?limit=5${after}`);
    for (const invoice of page.data) {
      const row = document.createElement("tr");
      row.dataset.invoice = invoice.id;
      const cells = [invoice.number || "-", day(invoice.created), money(invoice.total, invoice.currency), invoice.status || "-"];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const links = document.createElement("td");
      links.append(link("View", invoice.hosted_invoice_url), " ", link("PDF", invoice.invoice_pdf));
      row.append(links);
      body.append(row);
    }
    invoiceCursor = page.next_cursor;
    $("more-invoices").hidden = !page.has_more;
    $("no-invoices").hidden = body.rows.length > 0;
  }

  // This page's URL without the parameters that Checkout and the provider login add on
  // the way back.
  function pageUrl() {
    const url = new URL(window.location.href);
    url.searchParams.delete("checkout");
    url.searchParams.delete("session_id");
    url.searchParams.delete("code");
    url.searchParams.delete("error");
    url.searchParams.delete("linked");
    url.hash = "";
    return url.toString();
  }

  function returnUrl(outcome) {
    const base = pageUrl();
    const separator = base.includes("?") ? "&" : "?";
    // Stripe replaces {CHECKOUT_SESSION_ID}; it must stay unencoded.
    const extra = outcome === "success" ? "&session_id={CHECKOUT_SESSION_ID}" : "";
    return `${base}${separator}checkout=${outcome}${extra}`;
  }

  async function checkout(plan, interval) {
    const session = await api("/billing/create-checkout-session", {
      method: "POST",
      body: { plan, interval, success_url: returnUrl("success"), cancel_url: returnUrl("canceled") },
    });
    setStatus("Opening Stripe Checkout...");
    window.location.assign(session.url);
  }

  async function portal() {
    const session = await api("/billing/customer-portal");
    setStatus("Opening the customer portal...");
    window.location.assign(session.url);
  }

  // ---- sign in with a provider (shown when the API has providers) --------------------
  // The button is a plain navigation to the API, which redirects to the provider; the
  // provider sends the browser back through the API to this page with `?code=`, a
  // single-use handoff code (never a token) that is exchanged with a POST at once.
  async function loadProviders() {
    if (!oauthOn) return; // no /oauth routes on this API: do not ask (a 404 is logged)
    let providers = [];
    try {
      providers = await api("/oauth/providers", { auth: false });
    } catch (error) {
      if (error.status !== 404) setStatus(`Could not read the login providers: ${error.message}`, true);
    }
    const holder = $("providers");
    holder.replaceChildren();
    $("link-providers").replaceChildren();
    for (const provider of providers) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.dataset.provider = provider.key;
      button.textContent = `Sign in with ${provider.display_name}`;
      button.addEventListener("click", () => {
        const target = new URL(`${API}/oauth/${encodeURIComponent(provider.key)}/authorize`, window.location.href);
        target.searchParams.set("redirect_to", pageUrl());
        window.location.assign(target.toString());
      });
      holder.append(button);
      const linker = document.createElement("button");
      linker.type = "button";
      linker.className = "secondary";
      linker.dataset.link = provider.key;
      linker.textContent = `Link ${provider.display_name}`;
      linker.addEventListener("click", () => run(() => linkProvider(provider.key)));
      $("link-providers").append(linker);
    }
  }

  // Linking needs the signed-in session (a recent login) and this browser: the API answers
  // the provider URL and sets its binding cookie (so the fetch keeps cookies).
  async function linkProvider(key) {
    const started = await api(`/oauth/${encodeURIComponent(key)}/link`, {
      method: "POST",
      body: { redirect_to: pageUrl() },
      cookies: true,
    });
    window.location.assign(started.authorization_url);
  }

  let providerNote = null; // shown once the page has resumed the session

  const PROVIDER_ERRORS = {
    oauth_account_exists:
      "An account with this email exists: log in with its password, then link the provider.",
    oauth_email_unverified: "The provider does not vouch for your email address.",
  };

  // Back from a provider: exchange the handoff code (once), and take it out of the URL.
  async function backFromProvider() {
    const code = query.get("code");
    const error = query.get("error");
    const linked = query.get("linked");
    if (!code && !error && !linked) return false;
    window.history.replaceState(null, "", pageUrl());
    if (linked) {
      providerNote = `Linked ${linked}.`;
      return false; // the session resumes from the refresh token below
    }
    if (error) {
      setStatus(PROVIDER_ERRORS[error] || `The provider login failed (${error}).`, true);
      return false;
    }
    const pair = await api("/oauth/token", { method: "POST", body: { code }, auth: false });
    epoch += 1;
    setTokens(pair);
    await showMe();
    await afterSignIn(false);
    setStatus("Signed in with the provider.");
    return true;
  }

  // ---- actions --------------------------------------------------------------------
  async function run(action) {
    try {
      await action();
    } catch (error) {
      setStatus(error.message, true);
    }
  }

  function credentials() {
    return { email: $("email").value.trim(), password: $("password").value };
  }

  async function register() {
    const form = $("credentials");
    if (!form.reportValidity()) return;
    const user = await api("/auth/register", { method: "POST", body: credentials(), auth: false });
    setStatus(`Registered ${user.email}. Now log in.`);
  }

  // ---- two-factor authentication ----------------------------------------------------
  let challenge = null; // the pending login's challenge token (memory only, single use)

  async function login() {
    let pair;
    try {
      pair = await api("/auth/login", { method: "POST", body: credentials(), auth: false });
    } catch (error) {
      if (error.code !== "mfa_required") throw error;
      // The password was right; the account has 2FA: ask for a code, no tokens yet.
      challenge = error.challenge;
      $("password").value = "";
      $("credentials").hidden = true;
      $("mfa-challenge").hidden = false;
      $("mfa-code").focus();
      setStatus("Enter the code from your authenticator app (or a recovery code).");
      return;
    }
    await signedIn(pair);
  }

  async function signedIn(pair) {
    epoch += 1;
    setTokens(pair);
    $("password").value = "";
    await showMe();
    await showMfa();
    await afterSignIn(false);
    if (plans !== null) await loadInvoices(true);
    setStatus("Logged in.");
  }

  function endChallenge() {
    challenge = null;
    $("mfa-code").value = "";
    $("mfa-challenge").hidden = true;
    $("credentials").hidden = false;
  }

  async function verifyChallenge() {
    const typed = $("mfa-code").value.trim();
    // Six digits: the app's code; anything else: a recovery code.
    const proof = /^[0-9]{6}$/.test(typed) ? { code: typed } : { recovery_code: typed };
    try {
      const pair = await api("/mfa/verify", {
        method: "POST",
        body: { challenge_token: challenge, ...proof },
        auth: false,
      });
      endChallenge();
      await signedIn(pair);
    } catch (error) {
      $("mfa-code").value = "";
      if (error.code === "mfa_challenge_invalid") {
        endChallenge();
        setStatus("The sign-in expired or had too many wrong codes; log in again.", true);
        return;
      }
      throw error; // mfa_code_invalid: try another code on the same challenge
    }
  }

  async function showMfa() {
    let state;
    try {
      state = await api("/mfa");
    } catch (error) {
      if (error.status === 404) return; // 2FA is off on this API
      throw error;
    }
    $("mfa-state").textContent = state.enabled
      ? `on (${state.recovery_codes_remaining} recovery codes left)`
      : "off";
    $("mfa-setup").hidden = state.enabled;
    $("mfa").hidden = false;
  }

  async function setupMfa() {
    const setup = await api("/mfa/totp/setup", { method: "POST" });
    $("mfa-secret").textContent = setup.secret;
    const qr = $("mfa-qr");
    if (setup.qr_svg) {
      // An <img> with a data: URL: the SVG is shown, never run as part of the page.
      qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qr_svg)}`;
      qr.hidden = false;
    }
    $("mfa-enroll").hidden = false;
    $("mfa-confirm-code").focus();
  }

  async function confirmMfa() {
    const answer = await api("/mfa/totp/confirm", {
      method: "POST",
      body: { code: $("mfa-confirm-code").value.trim() },
    });
    $("mfa-confirm-code").value = "";
    $("mfa-enroll").hidden = true;
    $("mfa-secret").textContent = "";
    const list = $("mfa-code-list");
    list.replaceChildren(
      ...answer.recovery_codes.map((code) => {
        const item = document.createElement("li");
        item.textContent = code;
        return item;
      }),
    );
    $("mfa-codes").hidden = false;
    await showMfa();
    setStatus("Two-factor authentication is on.");
  }

  async function afterSignIn(backFromCheckout) {
    if (plans === null) return;
    // Back from Checkout, the webhook may not have arrived yet: ask saaskit to sync.
    const state = backFromCheckout
      ? await api("/billing/sync", { method: "POST" })
      : await api("/billing/subscription");
    showBilling(state);
  }

  async function logout() {
    try {
      await api("/auth/logout", { method: "POST" });
    } catch (error) {
      // 401: the session had ended already; either way the tokens are dropped below.
    }
    signedOut("Logged out.");
  }

  function tick() {
    $("refresh-due").textContent =
      refreshDueAt === null ? "-" : `${Math.max(0, Math.round((refreshDueAt - Date.now()) / 1000))} s`;
  }

  async function start() {
    $("api-base").textContent = API;
    $("credentials").addEventListener("submit", (event) => {
      event.preventDefault();
      run(login);
    });
    $("register").addEventListener("click", () => run(register));
    $("mfa-challenge").addEventListener("submit", (event) => {
      event.preventDefault();
      run(verifyChallenge);
    });
    $("mfa-cancel").addEventListener("click", () => endChallenge());
    $("mfa-setup").addEventListener("click", () => run(setupMfa));
    $("mfa-confirm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      run(confirmMfa);
    });
    $("logout").addEventListener("click", () => run(logout));
    $("reload-me").addEventListener("click", () => run(showMe));
    $("portal").addEventListener("click", () => run(portal));
    for (const id of ["interval-month", "interval-year"]) {
      $(id).addEventListener("change", () => {
        hidePreview();
        renderPlans();
      });
    }
    $("confirm-change").addEventListener("click", () => run(confirmChange));
    $("dismiss-change").addEventListener("click", hidePreview);
    $("cancel-subscription").addEventListener("click", () => run(cancelSubscription));
    $("resume-subscription").addEventListener("click", () => run(resumeSubscription));
    $("more-invoices").addEventListener("click", () => run(() => loadInvoices(false)));
    window.setInterval(tick, 1000);
    await loadPlans();
    await loadProviders();
    const signedInWithProvider = await backFromProvider().catch((error) => {
      setStatus(error.message, true);
      return false;
    });
    // A refresh token from earlier in this tab (a reload, back from Stripe): resume.
    if (!signedInWithProvider && refreshToken.get() && (await refresh())) {
      await showMe();
      await showMfa();
      const outcome = query.get("checkout");
      await afterSignIn(outcome === "success");
      if (outcome) {
        setStatus(outcome === "success" ? "Thanks! Your subscription is set up." : "Checkout canceled.");
        window.history.replaceState(null, "", pageUrl());
      }
      if (plans !== null) await loadInvoices(true);
    }
    if (providerNote) setStatus(providerNote);
    root.dataset.ready = "true"; // for tests: the page has finished starting
  }

  run(start);
})();
