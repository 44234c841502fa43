/** @jsxImportSource hono/jsx */
/** The status page's login form: takes `health.auth_token` once, for the session cookie (session.ts). */
import { Frame } from "./layout.tsx";

/** The login page; `failed` says the last token given was wrong. */
export function LoginPage(props: { failed: boolean }) {
  return (
    <Frame title="faultline — log in" root="../" refresh={false} loggedIn={false}>
      <section class="card login">
        <h1>Log in</h1>
        <p class="muted">This faultline requires its token (health.auth_token).</p>
        {props.failed && <div class="banner">That is not the token.</div>}
        <form method="post" action="login">
          <input type="password" name="token" autocomplete="current-password" required aria-label="token" />
          <button class="primary" type="submit">
            Log in
          </button>
        </form>
      </section>
    </Frame>
  );
}
