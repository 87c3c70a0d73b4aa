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
  async function api(path, { method = "GET", body, auth = true, retried = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && auth && !retried && refreshToken.get()) {
      if (await refresh()) return api(path, { method, body, auth, retried: true });
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

  async function loadPlans() {
    try {
      plans = await api("/billing/plans", { auth: false });
    } catch (error) {
      if (error.status !== 404) setStatus(`Could not read the plans: ${error.message}`, true);
      plans = null;
    }
    const holder = $("plans");
    holder.replaceChildren();
    for (const plan of plans || []) {
      if (!plan.price) continue; // a free plan cannot be bought
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.plan = plan.key;
      const amount = plan.price.unit_amount === null ? "" : formatPrice(plan.price);
      button.textContent = `Subscribe to ${plan.name}${amount}`;
      button.addEventListener("click", () => run(() => checkout(plan.key)));
      holder.append(button);
    }
  }

  function formatPrice(price) {
    const money = new Intl.NumberFormat(undefined, { style: "currency", currency: price.currency });
    return ` (${money.format(price.unit_amount / 100)}/${price.interval || "once"})`;
  }

  function showBilling(state) {
    const plan = (plans || []).find((p) => p.key === state.plan);
    $("plan").textContent = plan ? plan.name : state.plan || "none";
    const subscription = state.subscription;
    $("subscription-status").textContent = subscription ? `(${subscription.status})` : "";
    // Subscribed users change plans in the portal (a second checkout would get 409).
    $("plans").hidden = Boolean(state.entitled);
    $("billing").hidden = false;
  }

  // This page's URL without the parameters that Checkout adds on the way back.
  function pageUrl() {
    const url = new URL(window.location.href);
    url.searchParams.delete("checkout");
    url.searchParams.delete("session_id");
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

  async function checkout(plan) {
    const session = await api("/billing/create-checkout-session", {
      method: "POST",
      body: { plan, success_url: returnUrl("success"), cancel_url: returnUrl("canceled") },
    });
    setStatus("Opening Stripe Checkout...");
    window.location.assign(session.url);
  }

  async function portal() {
    const session = await api("/billing/customer-portal");
    setStatus("Opening the customer portal...");
    window.location.assign(session.url);
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
    window.setInterval(tick, 1000);
    await loadPlans();
    // A refresh token from earlier in this tab (a reload, back from Stripe): resume.
    if (refreshToken.get() && (await refresh())) {
      await showMe();
      await showMfa();
      const outcome = query.get("checkout");
      await afterSignIn(outcome === "success");
      if (outcome) {
        setStatus(outcome === "success" ? "Thanks! Your subscription is set up." : "Checkout canceled.");
        window.history.replaceState(null, "", pageUrl());
      }
    }
    root.dataset.ready = "true"; // for tests: the page has finished starting
  }

  run(start);
})();
