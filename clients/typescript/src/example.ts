// What a TypeScript app does with the generated client: register, log in, refresh and
// read the current user. `tsc --noEmit` type-checks it against the generated types in CI
// (tests/clients/test_generated.py), which also compiles it and runs it on a live server:
//   node dist/example.js http://127.0.0.1:8000 alice@example.com 'correct horse battery'
import { createClient } from "./generated/client/index.js";
import { authLogin, authRegister, authToken, usersMe } from "./generated/index.js";
import type { TokenPair, UserRead } from "./generated/index.js";

export async function walkthrough(
  baseUrl: string,
  email: string,
  password: string,
): Promise<{ user: UserRead; tokens: TokenPair }> {
  const client = createClient({ baseUrl });

  const registered = await authRegister({
    client,
    body: { email, password, full_name: "TypeScript" },
  });
  if (registered.error) throw new Error(`register: ${registered.response.status}`);

  // JSON login; errors are saaskit's envelope.
  const login = await authLogin({ client, body: { email, password } });
  if (login.error || !login.data) throw new Error(`login: ${login.response.status}`);

  // The OAuth 2.0 refresh grant, form-encoded; errors are RFC 6749's.
  const refreshed = await authToken({
    client,
    body: { grant_type: "refresh_token", refresh_token: login.data.refresh_token },
  });
  if (refreshed.error || !refreshed.data) {
    throw new Error(`refresh: ${refreshed.error?.error ?? refreshed.response.status}`);
  }
  const tokens: TokenPair = refreshed.data;

  const me = await usersMe({ client, auth: tokens.access_token });
  if (me.error || !me.data) throw new Error(`me: ${me.response.status}`);
  return { user: me.data, tokens };
}

// Node's `process`, declared here rather than with @types/node (one dependency less).
declare const process: { argv: string[] };

const [baseUrl, email, password] = process.argv.slice(2);
if (baseUrl && email && password) {
  const { user } = await walkthrough(baseUrl, email, password);
  console.log(JSON.stringify({ email: user.email, id: user.id }));
}
