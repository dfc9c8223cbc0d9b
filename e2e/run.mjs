// Browser test: starts `stratus dev` on a free port with a fresh data dir,
// drives Debian's chromium through playwright-core, and walks what a person
// does: an operator creates a second project and gives the demo user a role
// on it; the demo user logs in, switches project, creates an API token
// (secret shown once), revokes it; uploads an image with the progress bar,
// generates a key pair, launches an instance and watches its row go BUILD →
// ACTIVE without a reload, stops it (SHUTOFF, live), deletes it; looks at
// the quota charts, and logs out; the operator looks at the hypervisors.
// Screenshots go to e2e/screenshots/ (some at phone width).
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
  // Two fake hosts; boots take 2 s so the browser can watch BUILD turn
  // ACTIVE without a reload.
  const child = spawn(bin, ["dev", "--listen", `127.0.0.1:${port}`, "--data-dir", join(work, "data"),
    "--driver", "fake", "--hosts", "2", "--fake-boot-delay", "2s"], {
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

// compute walks the demo user through images, key pairs and instances.
async function compute(page, base) {
  log("demo: upload an image with the progress bar");
  await byTestID(page, "nav-images").click();
  await byTestID(page, "new-image").click();
  await page.waitForURL(`${base}/images/new`);
  await byTestID(page, "image-name").fill("tiny-disk");
  await byTestID(page, "image-create").click();
  await page.waitForURL(/\/images\/[0-9a-f-]{36}\/upload$/);
  // 6 MiB at a throttled 3 MiB/s: long enough to see the bar move.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 3 << 20 });
  await byTestID(page, "upload-file").setInputFiles({ name: "tiny-disk.raw", mimeType: "application/octet-stream", buffer: Buffer.alloc(6 << 20, 0) });
  await byTestID(page, "upload-submit").click();
  await byTestID(page, "upload-progress").waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid="upload-bar"]')?.value;
    return v > 5 && v < 100;
  });
  await shot(page, "15-image-upload-progress");
  await page.waitForURL(/\/images\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert.match(await byTestID(page, "flash").textContent(), /uploaded: 6\.0 MiB, raw, active/);
  assert.match(await byTestID(page, "image-status").first().textContent(), /active/);
  await byTestID(page, "nav-images").click();
  await byTestID(page, "image-row-tiny-disk").waitFor();
  await shot(page, "16-images");

  log("demo: key pairs — a bad key, then a generated pair shown once");
  await byTestID(page, "nav-keypairs").click();
  await byTestID(page, "keypair-name").fill("broken");
  await byTestID(page, "keypair-public-key").fill("ssh-rsa not-base64 me@host");
  await byTestID(page, "keypair-import").click();
  await byTestID(page, "error-public_key").waitFor();
  await byTestID(page, "keypair-name").fill("laptop");
  await byTestID(page, "keypair-generate").click();
  await byTestID(page, "keypair-created").waitFor();
  const priv = await byTestID(page, "keypair-private-key").inputValue();
  assert.match(priv, /BEGIN OPENSSH PRIVATE KEY/);
  assert.equal(await byTestID(page, "keypair-download").getAttribute("download"), "laptop.pem");
  await shot(page, "17-keypair-generated");
  await page.goto(`${base}/keypairs`);
  assert.equal(await byTestID(page, "keypair-created").count(), 0, "the private key is shown once");
  assert.ok(!(await page.content()).includes(priv.split("\n")[1]), "the private key is not on the list page");
  await byTestID(page, "keypair-row-laptop").waitFor();

  log("demo: launch an instance and watch it go ACTIVE without a reload");
  await byTestID(page, "nav-instances").click();
  await byTestID(page, "empty-launch").click();
  await page.waitForURL(`${base}/instances/new`);
  await byTestID(page, "launch-name").fill("");
  await byTestID(page, "launch-count").fill("0");
  await byTestID(page, "launch-user-data").fill("#cloud-config\nhostname: web\n");
  await byTestID(page, "launch-submit").click();
  await byTestID(page, "error-name").waitFor();
  await byTestID(page, "error-count").waitFor();
  assert.equal(await byTestID(page, "launch-user-data").inputValue(), "#cloud-config\nhostname: web\n", "the form keeps its input");
  await byTestID(page, "launch-count").fill("1");
  await byTestID(page, "launch-submit").click();
  await byTestID(page, "error-name").waitFor();
  await byTestID(page, "error-flavor").waitFor();
  await shot(page, "18-launch-form-errors");
  await byTestID(page, "launch-name").fill("web");
  const imageID = await byTestID(page, "launch-image").locator("option", { hasText: "tiny-disk" }).getAttribute("value");
  await byTestID(page, "launch-image").selectOption(imageID);
  await byTestID(page, "flavor-m1.tiny").click();
  await byTestID(page, "launch-keypair").selectOption("laptop");
  await byTestID(page, "launch-submit").click();
  await page.waitForURL(`${base}/instances`);
  const row = byTestID(page, "instance-row-web");
  await page.evaluate(() => { window.__stillHere = true; });
  assert.equal(await row.getAttribute("data-status"), "BUILD");
  await byTestID(page, "instances-poll").waitFor({ state: "attached" });
  await shot(page, "19-instances-build");
  let polls = 0;
  const countPolls = (r) => { if (r.url().includes("/instances/rows")) polls++; };
  page.on("request", countPolls);
  await page.waitForFunction(() => document.querySelector('[data-testid="instance-row-web"]')?.dataset.status === "ACTIVE", null, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.__stillHere), true, "the row turned ACTIVE without a reload");
  assert.ok(polls > 0, "the row was polled");
  const pollsWhenActive = polls;
  await page.waitForTimeout(2500);
  assert.equal(polls, pollsWhenActive, "polling stopped once nothing is in transition");
  page.off("request", countPolls);
  await shot(page, "20-instances-active");

  await row.locator('[data-testid="instance-link"]').click();
  await page.waitForURL(/\/instances\/[0-9a-f-]{36}$/);
  assert.equal(await byTestID(page, "detail-keypair").textContent(), "laptop");
  await byTestID(page, "action-row-create").waitFor();
  await shot(page, "21-instance-detail");
  await byTestID(page, "tab-log").click();
  await byTestID(page, "action-log").waitFor();
  await byTestID(page, "nav-instances").click();

  log("demo: stop it (SHUTOFF arrives live), then delete it");
  await page.evaluate(() => { window.__stillHere = true; });
  await row.locator('[data-testid="action-stop"]').click();
  await byTestID(page, "flash").waitFor();
  await page.evaluate(() => { window.__stillHere = true; });
  await page.waitForFunction(() => document.querySelector('[data-testid="instance-row-web"]')?.dataset.status === "SHUTOFF", null, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.__stillHere), true, "SHUTOFF arrived without a reload");
  await shot(page, "22-instances-shutoff");
  await row.locator('[data-testid="action-delete"]').click();
  await shot(page, "23-instance-delete-confirm");
  await row.locator('[data-testid="action-delete-confirm"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="instance-row-web"]'), null, { timeout: 10_000 });

  log("demo: launch three at once");
  await page.goto(`${base}/instances/new`);
  await byTestID(page, "launch-name").fill("worker");
  await byTestID(page, "launch-count").fill("3");
  await byTestID(page, "launch-image").selectOption(imageID);
  await byTestID(page, "flavor-m1.nano").click();
  await byTestID(page, "launch-submit").click();
  await page.waitForURL(`${base}/instances`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid^="instance-row-worker-"][data-status="ACTIVE"]').length === 3, null, { timeout: 15_000 });

  log("demo: quota charts on the overview");
  await byTestID(page, "nav-overview").click();
  await page.locator('[data-testid="quota-chart"] canvas').waitFor();
  const chart = JSON.parse(await byTestID(page, "quota-chart").getAttribute("data-chart"));
  assert.deepEqual(chart.labels, ["Instances", "vCPUs", "RAM", "Key pairs", "Images"]);
  assert.equal(chart.used[0], 3, "three instances");
  assert.equal(chart.used[3], 1, "one key pair");
  assert.equal(chart.used[4], 1, "one image");
  await shot(page, "24-overview-charts");
  await page.goto(`${base}/flavors`);
  await shot(page, "25-flavors");
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

  await compute(page, base);

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
  await phone.goto(`${base}/instances`);
  await byTestID(phone, "instances-table").waitFor();
  await shot(phone, "26-phone-instances");
  await phone.close();

  await logout(page);
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, "/login", "after logout the console asks to log in again");

  // The operator: hypervisors, every project's instances.
  log("admin: hypervisors and all instances");
  await login(page, base, "admin", ADMIN_PASSWORD);
  await byTestID(page, "nav-admin-hypervisors").click();
  await byTestID(page, "hypervisors-live").waitFor();
  assert.equal(await byTestID(page, "host-dev-1").getAttribute("data-up"), "true");
  // Disabling needs a reason.
  await byTestID(page, "host-dev-2").locator('[data-testid="host-disable"]').click();
  await byTestID(page, "host-dev-2").locator('[data-testid="error-reason"]').waitFor();
  await byTestID(page, "host-dev-2").locator('[data-testid="host-reason"]').fill("firmware update");
  await byTestID(page, "host-dev-2").locator('[data-testid="host-disable"]').click();
  await byTestID(page, "flash").waitFor();
  assert.equal(await byTestID(page, "host-dev-2").getAttribute("data-enabled"), "false");
  await shot(page, "27-admin-hypervisors");
  await byTestID(page, "host-dev-2").locator('[data-testid="host-enable"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="host-dev-2"]')?.getAttribute("data-enabled") === "true");
  await byTestID(page, "nav-admin-instances").click();
  await byTestID(page, "instances-table").waitFor();
  await shot(page, "28-admin-instances");
  await logout(page);

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
