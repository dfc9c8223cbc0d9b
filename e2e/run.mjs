// Browser test: starts `stratus dev` on a free port with a fresh data dir,
// drives Debian's chromium through playwright-core, and walks what a person
// does: an operator creates a second project and gives the demo user a role
// on it; the demo user logs in, switches project, creates an API token
// (secret shown once), revokes it, and logs out. Screenshots go to
// e2e/screenshots/ (also one at phone width).
//
//   node e2e/run.mjs            (builds the binary with go build)
//   STRATUS_BIN=bin/stratus node e2e/run.mjs
//
// Exits non-zero on any failure; always stops the server it started.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const shots = join(root, "e2e", "screenshots");
const ADMIN_PASSWORD = "e2e-admin-password";
const DEMO_PASSWORD = "e2e-demo-password";
const SECOND_PROJECT = "research";

const work = mkdtempSync(join(tmpdir(), "stratus-e2e-"));
let server;
let context;
let failed = false;
const problems = []; // console errors and CSP violations seen on any page

function log(msg) {
  console.log(`e2e: ${msg}`);
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function binary() {
  if (process.env.STRATUS_BIN) return resolve(process.env.STRATUS_BIN);
  const bin = join(work, "stratus");
  log("building stratus");
  execFileSync("go", ["build", "-o", bin, "./cmd/stratus"], { cwd: root, stdio: "inherit", env: { ...process.env, CGO_ENABLED: "0" } });
  return bin;
}

async function startServer(bin, port) {
  const out = [];
  const child = spawn(bin, ["dev", "--listen", `127.0.0.1:${port}`, "--data-dir", join(work, "data")], {
    cwd: work,
    env: { ...process.env, STRATUS_ADMIN_PASSWORD: ADMIN_PASSWORD, STRATUS_DEMO_PASSWORD: DEMO_PASSWORD, STRATUS_LOG_FORMAT: "text" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (b) => out.push(b));
  child.stderr.on("data", (b) => out.push(b));
  child.output = () => Buffer.concat(out).toString();
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stratus dev exited with ${child.exitCode}:\n${child.output()}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`stratus dev not ready after 60 s:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, base };
}

async function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function watch(page) {
  page.on("console", (m) => {
    // Refused requests (401, 422 …) are part of the test; anything else
    // the console reports as an error is a problem.
    if (m.type() === "error" && !/Failed to load resource|Response Status Error Code/.test(m.text())) {
      problems.push(`${page.url()}: console error: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: page error: ${e.message}`));
  return page;
}

async function shot(page, name, opts = {}) {
  const path = join(shots, `${name}.png`);
  // caret: "initial" — Playwright's caret hiding writes style attributes on
  // inputs, which htmx then copies on the next swap and the CSP refuses.
  await page.screenshot({ path, fullPage: true, caret: "initial", ...opts });
  log(`screenshot ${path}`);
}

const byTestID = (page, id) => page.locator(`[data-testid="${id}"]`);

async function login(page, base, user, password) {
  await page.goto(`${base}/login`);
  await byTestID(page, "login-username").fill(user);
  await byTestID(page, "login-password").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), byTestID(page, "login-submit").click()]);
  await assert.doesNotReject(byTestID(page, "user-menu").waitFor());
}

async function logout(page) {
  await byTestID(page, "user-menu").locator("summary").click();
  await Promise.all([page.waitForURL((u) => u.pathname === "/login"), byTestID(page, "logout").click()]);
  await byTestID(page, "login-notice").waitFor();
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const bin = binary();
  const port = await freePort();
  log(`starting stratus dev on 127.0.0.1:${port}`);
  const started = await startServer(bin, port);
  server = started.child;
  const base = started.base;

  context = await chromium.launchPersistentContext(join(work, "chromium-profile"), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 800 },
  });
  // Report CSP violations with the element that caused them.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const el = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : String(e.target);
      console.error(`CSP violation: ${e.violatedDirective} at ${e.sourceFile}:${e.lineNumber} sample=${e.sample} element=${el}`);
    });
  });
  const page = watch(context.pages()[0] || (await context.newPage()));
  page.setDefaultTimeout(15_000);

  // Anonymous: the console sends you to the login page.
  await page.goto(`${base}/tokens`);
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.equal(new URL(page.url()).searchParams.get("next"), "/tokens");
  await shot(page, "01-login");

  // A wrong password reads the same as an unknown user.
  await byTestID(page, "login-username").fill("admin");
  await byTestID(page, "login-password").fill("not-the-password");
  await byTestID(page, "login-submit").click();
  const wrong = await byTestID(page, "login-error").textContent();
  await byTestID(page, "login-username").fill("nobody-here");
  await byTestID(page, "login-password").fill("not-the-password");
  await byTestID(page, "login-submit").click();
  assert.equal(await byTestID(page, "login-error").textContent(), wrong);
  assert.equal(await byTestID(page, "login-username").inputValue(), "nobody-here", "the form keeps the username");
  assert.equal(await byTestID(page, "login-password").inputValue(), "", "the form never echoes the password");

  // The operator creates a second project and gives demo a role on it.
  log("admin: create a second project and add demo to it");
  await login(page, base, "admin", ADMIN_PASSWORD);
  await byTestID(page, "nav-admin-projects").click();
  await page.waitForURL(`${base}/admin/projects`);
  await byTestID(page, "new-project").click();
  await page.waitForURL(`${base}/admin/projects/new`);
  await byTestID(page, "project-name").fill("bad name with spaces");
  await byTestID(page, "project-description").fill("GPU experiments");
  await byTestID(page, "project-create").click();
  await byTestID(page, "error-name").waitFor();
  assert.equal(await byTestID(page, "project-description").inputValue(), "GPU experiments", "the form keeps its input");
  await shot(page, "02-admin-project-form-errors");
  await byTestID(page, "project-name").fill(SECOND_PROJECT);
  await byTestID(page, "project-create").click();
  await page.waitForURL(/\/admin\/projects\/[0-9a-f-]{36}$/);
  await byTestID(page, "member-user").fill("demo");
  await byTestID(page, "member-role").selectOption("member");
  await byTestID(page, "member-add").click();
  await byTestID(page, "member-row-demo").waitFor();
  await byTestID(page, "flash").waitFor();
  await shot(page, "03-admin-project");

  await byTestID(page, "nav-admin-users").click();
  await byTestID(page, "user-row-demo").waitFor();
  await shot(page, "04-admin-users");
  await byTestID(page, "user-row-demo").locator("a").click();
  await byTestID(page, "assignments-table").waitFor();
  await shot(page, "05-admin-user");
  await byTestID(page, "nav-admin-audit").click();
  await byTestID(page, "audit-table").waitFor();
  await shot(page, "06-admin-audit");
  await byTestID(page, "nav-admin-jobs").click();
  await byTestID(page, "jobs-live").waitFor();
  await shot(page, "07-admin-jobs");
  await logout(page);

  // The demo user: two projects now.
  log("demo: log in, switch project, create and revoke an API token");
  await login(page, base, "demo", DEMO_PASSWORD);
  assert.equal(await byTestID(page, "nav-section-admin").count(), 0, "a member sees no Admin section");
  assert.equal(await byTestID(page, "current-project-name").textContent(), "demo");
  const options = await byTestID(page, "project-picker").locator("option").allTextContents();
  assert.deepEqual(options.sort(), ["demo", SECOND_PROJECT].sort());
  await shot(page, "08-overview-demo");

  // Switching keeps the user on the page they are on.
  await byTestID(page, "nav-tokens").click();
  await page.waitForURL(`${base}/tokens`);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/tokens") && r.request().method() === "GET"),
    byTestID(page, "project-picker").selectOption({ label: SECOND_PROJECT }),
  ]);
  await byTestID(page, "flash").waitFor();
  assert.equal(new URL(page.url()).pathname, "/tokens");
  assert.equal(await byTestID(page, "token-scope").textContent(), SECOND_PROJECT);

  await byTestID(page, "token-name").fill("ci-deploy");
  await byTestID(page, "token-days").fill("30");
  await byTestID(page, "token-create").click();
  await byTestID(page, "token-created").waitFor();
  const secret = await byTestID(page, "token-secret").inputValue();
  assert.match(secret, /^stk_[A-Za-z0-9_-]{40,}$/);
  await byTestID(page, "token-row-ci-deploy").waitFor();
  await byTestID(page, "token-copy").click();
  await shot(page, "09-token-created");

  // The secret is shown once: the list page does not have it.
  await page.goto(`${base}/tokens`);
  assert.equal(await byTestID(page, "token-created").count(), 0);
  assert.ok(!(await page.content()).includes(secret), "the secret is not on the list page");

  // The token works against the API until it is revoked (when the API exists).
  const me = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
  log(`GET /api/v1/me with the new token: ${me.status}`);

  const row = byTestID(page, "token-row-ci-deploy");
  await row.locator('[data-testid="token-revoke"]').click();
  await shot(page, "10-token-revoke-confirm");
  await row.locator('[data-testid="token-revoke-confirm"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="token-row-ci-deploy"] [data-testid="token-status"]')?.textContent.includes("revoked"));
  await shot(page, "11-token-revoked");

  // Phone width: the sidebar hides behind the menu button.
  const phone = watch(await context.newPage());
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${base}/`);
  assert.equal(await byTestID(phone, "sidebar").isVisible(), false, "sidebar hidden on a phone");
  await shot(phone, "12-phone-overview");
  await byTestID(phone, "nav-toggle-button").click();
  assert.equal(await byTestID(phone, "sidebar").isVisible(), true, "menu button shows the sidebar");
  await shot(phone, "13-phone-menu", { fullPage: false });
  await phone.goto(`${base}/tokens`);
  await shot(phone, "14-phone-tokens");
  await phone.close();

  await logout(page);
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, "/login", "after logout the console asks to log in again");

  assert.deepEqual(problems, [], "no console errors or CSP violations");
}

try {
  await main();
  log("PASS");
} catch (err) {
  failed = true;
  console.error("e2e: FAIL:", err);
  if (server) console.error("--- stratus output ---\n" + server.output());
  if (problems.length) console.error("--- browser problems ---\n" + problems.join("\n"));
} finally {
  if (context) await context.close().catch(() => {});
  await stopServer(server).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
