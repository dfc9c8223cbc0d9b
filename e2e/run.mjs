// Browser test: starts `stratus dev` on a free port with a fresh data dir,
// drives Debian's chromium through playwright-core, and walks what a person
// does: an operator creates a second project and gives the demo user a role
// on it; the demo user logs in, switches project, creates an API token
// (secret shown once), revokes it; uploads an image with the progress bar,
// stores files in a container (several at once, with a progress bar), makes
// it public and reads it anonymously, shares an object by temporary URL,
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

  await networks(page, base);

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
  await byTestID(page, "launch-network-app-net").check();
  await byTestID(page, "launch-sg-web").check();
  await shot(page, "42-launch-networks");
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
  assert.match(await byTestID(page, "detail-addresses").textContent(), /10\.20\.0\.\d+\s+on app-net/);
  assert.match(await byTestID(page, "instance-port-app-net").locator('[data-testid="instance-port-ips"]').textContent(), /^10\.20\.0\.\d+$/);
  assert.match(await byTestID(page, "instance-groups").textContent(), /web/);
  await shot(page, "43-instance-networking");
  // Take it out of group web: the page says so.
  await byTestID(page, "instance-group-web").uncheck();
  await byTestID(page, "instance-groups-submit").click();
  await page.waitForFunction(() => /Security groups changed/.test(document.querySelector('[data-testid="flash"]')?.textContent ?? ""));
  assert.doesNotMatch(await byTestID(page, "instance-groups").textContent(), /web/);
  await floatingIPs(page, base, page.url());
  await byTestID(page, "nav-networks").click();
  await byTestID(page, "topology-inst-web").waitFor();
  await byTestID(page, "topology-router-edge").waitFor();
  await shot(page, "44-network-topology");
  await page.goBack();
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
  // The row's delete is a link to a confirmation page, which htmx shows as
  // a dialog over the list (no navigation): Cancel closes it, the second
  // time it deletes.
  await row.locator('[data-testid="action-delete"]').click();
  await byTestID(page, "action-delete-confirm").waitFor();
  assert.equal(page.url(), `${base}/instances`, "the confirmation opened over the list");
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "action-delete-confirm");
  await byTestID(page, "dialog").getByText("Cancel").click();
  await byTestID(page, "action-delete-confirm").waitFor({ state: "detached" });
  await row.locator('[data-testid="action-delete"]').click();
  await byTestID(page, "action-delete-confirm").waitFor();
  await shot(page, "23-instance-delete-confirm");
  await byTestID(page, "action-delete-confirm").click();
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

  await volumes(page, base, imageID);

  log("demo: quota charts on the overview");
  await byTestID(page, "nav-overview").click();
  await page.locator('[data-testid="quota-chart"] canvas').waitFor();
  const chart = JSON.parse(await byTestID(page, "quota-chart").getAttribute("data-chart"));
  assert.deepEqual(chart.labels.slice(0, 5), ["Instances", "vCPUs", "RAM", "Key pairs", "Images"]);
  assert.ok(chart.labels.includes("Volumes") && chart.labels.includes("Volume storage"), "block storage quotas are charted");
  assert.equal(chart.used[0], 3, "three instances");
  assert.equal(chart.used[3], 1, "one key pair");
  assert.equal(chart.used[4], 1, "one image");
  await shot(page, "24-overview-charts");
  await page.goto(`${base}/flavors`);
  await shot(page, "25-flavors");
}

async function objects(page, base) {
  log("demo: object storage — create a container, upload files with the progress bar");
  await byTestID(page, "nav-containers").click();
  await page.waitForURL(`${base}/containers`);
  await byTestID(page, "container-name").fill("photos");
  await byTestID(page, "container-create").click();
  await page.waitForURL(`${base}/containers/photos`);
  await byTestID(page, "folder-name").fill("holiday");
  await byTestID(page, "folder-create").click();
  await page.waitForURL(/prefix=holiday%2F/);
  // Three files, 4 MiB in all, at a throttled 2 MiB/s: the bar moves.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 << 20 });
  const files = [
    { name: "beach.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(3 << 20, 1) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("sun, sea, sand\n".repeat(1000)) },
    { name: "map.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(1 << 20, 2) },
  ];
  await byTestID(page, "upload-files").setInputFiles(files);
  await byTestID(page, "upload-submit").click();
  await byTestID(page, "upload-progress").waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid="upload-bar"]')?.value;
    return v > 10 && v < 100;
  });
  await shot(page, "40-objects-upload-progress");
  await page.waitForURL(/prefix=holiday%2F/, { waitUntil: "load" });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  for (const f of files) await byTestID(page, `object-row-${f.name}`).waitFor();
  assert.match(await page.locator('nav[aria-label="Breadcrumb"]').textContent(), /Containers.*photos.*holiday/s);
  await shot(page, "41-objects-folder");

  log("demo: make it public and read it anonymously; a temporary URL");
  await byTestID(page, "container-make-public").click();
  await byTestID(page, "public-url").waitFor();
  const publicURL = await byTestID(page, "public-url-input").inputValue();
  const anon = await fetch(`${publicURL}holiday/notes.txt`);
  assert.equal(anon.status, 200, "a public container's object reads anonymously");
  assert.equal((await anon.text()).length, files[1].buffer.length);
  await page.goto(`${base}/containers/photos?prefix=holiday%2F`);
  await byTestID(page, "object-row-beach.jpg").locator('[data-testid="object-link"]').click();
  await byTestID(page, "object-etag").waitFor();
  assert.match(await byTestID(page, "object-size").textContent(), /3145728 bytes/);
  await byTestID(page, "temp-url-hours").selectOption("1");
  await byTestID(page, "temp-url-create").click();
  await byTestID(page, "temp-url").waitFor();
  const tempURL = await byTestID(page, "temp-url-input").inputValue();
  await shot(page, "42-object-temp-url");
  await page.goto(`${base}/containers`);
  await byTestID(page, "container-row-photos").locator('[data-testid="container-make-private"]').click();
  await byTestID(page, "container-row-photos").locator('[data-testid="container-make-public"]').waitFor();
  assert.equal((await fetch(`${publicURL}holiday/notes.txt`)).status, 401, "private again");
  const viaTemp = await fetch(tempURL);
  assert.equal(viaTemp.status, 200, "the temporary URL works while the container is private");
  assert.equal((await viaTemp.arrayBuffer()).byteLength, files[0].buffer.length);
  await shot(page, "43-containers");

  log("demo: delete an object");
  await page.goto(`${base}/containers/photos?prefix=holiday%2F`);
  const row = byTestID(page, "object-row-map.bin");
  await row.locator('[data-testid="object-delete"]').click();
  await row.locator('[data-testid="object-delete-confirm"]').click();
  await byTestID(page, "flash").waitFor();
  assert.equal(await byTestID(page, "object-row-map.bin").count(), 0);
  assert.equal(await byTestID(page, "object-row-notes.txt").count(), 1);

  await byTestID(page, "nav-overview").click();
  await page.locator('[data-testid="quota-chart"] canvas').waitFor();
  const chart = JSON.parse(await byTestID(page, "quota-chart").getAttribute("data-chart"));
  const i = chart.labels.indexOf("Object storage");
  assert.ok(i >= 0 && chart.used[i] > 3 << 20, "the object bytes show on the quota chart");
}

// networks: a network with its first subnet (a form error first), a second
// subnet added and deleted, a security group whose rules are added and
// removed without a reload (a refused rule names its field).
async function networks(page, base) {
  log("demo: networks — create with a form error, add and delete a subnet");
  await byTestID(page, "nav-networks").click();
  await page.waitForURL(`${base}/networks`);
  await byTestID(page, "create-network").click();
  await byTestID(page, "network-name").fill("app-net");
  await byTestID(page, "subnet-cidr").fill("10.20.0.1/24");
  await byTestID(page, "network-submit").click();
  await byTestID(page, "error-cidr").waitFor();
  assert.match(await byTestID(page, "error-cidr").textContent(), /host bits/);
  await shot(page, "38-network-form-errors");
  await byTestID(page, "subnet-cidr").fill("10.20.0.0/24");
  await byTestID(page, "subnet-dns").fill("9.9.9.9");
  await byTestID(page, "network-submit").click();
  await page.waitForURL(/\/networks\/[0-9a-f-]{36}$/);
  await byTestID(page, "subnet-row-10.20.0.0/24").waitFor();
  await byTestID(page, "subnet-cidr").fill("10.21.0.0/24");
  await byTestID(page, "subnet-submit").click();
  await byTestID(page, "subnet-row-10.21.0.0/24").waitFor();
  await shot(page, "39-network-detail");
  await byTestID(page, "subnet-delete-10.21.0.0/24").click();
  await byTestID(page, "subnet-delete-10.21.0.0/24-confirm").click();
  await byTestID(page, "subnet-row-10.21.0.0/24").waitFor({ state: "detached" });
  assert.match(await byTestID(page, "flash").textContent(), /Subnet 10\.21\.0\.0\/24 deleted/);
  await byTestID(page, "nav-networks").click();
  assert.match(await byTestID(page, "network-row-app-net").locator('[data-testid="network-subnets"]').textContent(), /10\.20\.0\.0\/24/);

  log("demo: security group rules added and removed without a reload");
  await byTestID(page, "nav-security-groups").click();
  await byTestID(page, "sg-row-default").waitFor();
  await byTestID(page, "sg-name").fill("web");
  await byTestID(page, "sg-submit").click();
  await page.waitForURL(/\/security-groups\/[0-9a-f-]{36}$/);
  await page.evaluate(() => { window.__stillHere = true; });
  await byTestID(page, "rule-protocol").selectOption("icmp");
  await byTestID(page, "rule-port-min").fill("8");
  await byTestID(page, "rule-submit").click();
  await byTestID(page, "error-port_range_min").waitFor();
  await shot(page, "40-rule-error");
  await byTestID(page, "rule-protocol").selectOption("tcp");
  await byTestID(page, "rule-port-min").fill("80");
  await byTestID(page, "rule-submit").click();
  await page.locator('[data-testid="sg-rule"][data-ports="80"]').waitFor();
  await byTestID(page, "rule-port-min").fill("443");
  await byTestID(page, "rule-submit").click();
  await page.locator('[data-testid="sg-rule"][data-ports="443"]').waitFor();
  await page.locator('[data-testid="sg-rule"][data-ports="443"] [data-testid="sg-rule-delete"]').click();
  await page.locator('[data-testid="sg-rule"][data-ports="443"]').waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => window.__stillHere), true, "rules changed without a reload");
  await shot(page, "41-rules-editor");
}

// floatingIPs: a router with its gateway on the external network public
// (which stratus dev makes) gets an interface on app-net, chosen from a
// list (a form error first); a floating IP allocated from public is
// associated with web from web's page, and shows on its page and row.
async function floatingIPs(page, base, instanceURL) {
  log("demo: routers and floating IPs — an interface on app-net, a floating IP for web");
  await byTestID(page, "nav-routers").click();
  await page.waitForURL(`${base}/routers`);
  await byTestID(page, "router-name").fill("edge");
  await byTestID(page, "router-network").selectOption({ label: "public" });
  await byTestID(page, "router-submit").click();
  await page.waitForURL(/\/routers\/[0-9a-f-]{36}$/);
  assert.match(await byTestID(page, "router-gateway").textContent(), /public/);
  await byTestID(page, "interface-submit").click();
  await byTestID(page, "error-subnet_id").waitFor();
  const subnet = await byTestID(page, "interface-subnet").locator("option", { hasText: "10.20.0.0/24" }).getAttribute("value");
  await byTestID(page, "interface-subnet").selectOption(subnet);
  await byTestID(page, "interface-submit").click();
  await byTestID(page, "router-interface-10.20.0.0/24").waitFor();
  assert.equal(await byTestID(page, "router-interface-10.20.0.0/24").locator('[data-testid="router-interface-ip"]').textContent(), "10.20.0.1");
  await shot(page, "45-router-detail");

  await byTestID(page, "nav-floating-ips").click();
  await page.waitForURL(`${base}/floating-ips`);
  await byTestID(page, "fip-network").selectOption({ label: "public" });
  await byTestID(page, "fip-submit").click();
  await page.waitForFunction(() => /Floating IP 203\.0\.113\.\d+ allocated/.test(document.querySelector('[data-testid="flash"]')?.textContent ?? ""));
  const addr = (await byTestID(page, "flash").textContent()).match(/203\.0\.113\.\d+/)[0];
  await byTestID(page, `fip-row-${addr}`).waitFor();
  await shot(page, "46-floating-ips");

  await page.goto(instanceURL);
  await byTestID(page, "instance-associate-fip").click();
  await page.waitForURL(`${instanceURL}/floating-ip`);
  await byTestID(page, "associate-floating").selectOption({ label: addr });
  const target = await byTestID(page, "associate-target").locator("option", { hasText: /web · 10\.20\.0\.\d+/ }).getAttribute("value");
  await byTestID(page, "associate-target").selectOption(target);
  await shot(page, "47-associate-floating-ip");
  await byTestID(page, "associate-submit").click();
  await page.waitForURL(instanceURL);
  assert.match(await byTestID(page, "flash").textContent(), new RegExp(`Floating IP ${addr.replaceAll(".", "\\.")} now points at 10\\.20\\.0\\.`));
  assert.match(await byTestID(page, "detail-floating").textContent(), new RegExp(addr.replaceAll(".", "\\.")));
  assert.match(await byTestID(page, "instance-port-floating").textContent(), new RegExp(addr.replaceAll(".", "\\.")));
  await shot(page, "48-instance-floating-ip");
  await byTestID(page, "nav-instances").click();
  assert.match(await byTestID(page, "instance-row-web").locator('[data-testid="address-floating"]').textContent(), new RegExp(addr.replaceAll(".", "\\.")));
  await shot(page, "49-instances-floating-ip");
  await page.goto(instanceURL);
}

// volumes: create one, attach it to an instance chosen from a list, see it
// on the instance, detach, extend, snapshot, a volume from the snapshot and
// one from an image (its page shows the write's progress), then delete.
async function volumes(page, base, imageID) {
  log("demo: volumes — create, attach, detach, extend, snapshot, delete");
  const waitStatus = (name, status) => page.waitForFunction(([n, st]) =>
    document.querySelector(`[data-testid="volume-row-${n}"]`)?.dataset.status === st, [name, status], { timeout: 20_000 });
  const waitLive = (status) => page.waitForFunction((st) =>
    document.querySelector('[data-testid="volume-live"]')?.dataset.status === st, status, { timeout: 20_000 });
  await byTestID(page, "nav-volumes").click();
  await page.waitForURL(`${base}/volumes`);
  await shot(page, "29-volumes-empty");
  await byTestID(page, "create-volume").click();
  await byTestID(page, "volume-size").fill("");
  await byTestID(page, "volume-submit").click();
  await byTestID(page, "error-size_gb").waitFor();
  await shot(page, "30-volume-form-errors");
  await byTestID(page, "volume-name").fill("data");
  await byTestID(page, "volume-size").fill("1");
  await byTestID(page, "volume-submit").click();
  await page.waitForURL(/\/volumes\/[0-9a-f-]{36}$/);
  const volURL = page.url();
  await waitLive("available");
  await shot(page, "31-volume-available");

  // Attach to an instance chosen from the list; the page follows it to in-use.
  const option = byTestID(page, "volume-attach-instance").locator("option", { hasText: "worker-1" });
  await byTestID(page, "volume-attach-instance").selectOption(await option.getAttribute("value"));
  await byTestID(page, "volume-attach").click();
  await waitLive("in-use");
  assert.equal(await byTestID(page, "volume-instance").textContent(), "worker-1");
  await shot(page, "32-volume-in-use");

  // The instance's page lists it; detach from there.
  await byTestID(page, "volume-instance").click();
  await byTestID(page, "instance-volume-data").waitFor();
  await shot(page, "33-instance-volumes");
  await byTestID(page, "instance-volume-data").locator('[data-testid="instance-volume-detach"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="instance-volume-data"]'), null, { timeout: 20_000 });

  // Extend, then snapshot, from the volume's page.
  await page.goto(volURL);
  await byTestID(page, "volume-new-size").fill("2");
  await byTestID(page, "volume-extend").click();
  // The page may still be the one before the extend (available too): wait
  // for the size itself, which the live region refreshes.
  await page.waitForFunction(() => document.querySelector('[data-testid="volume-size"]')?.textContent === "2 GB", null, { timeout: 20_000 });
  await waitLive("available");
  await byTestID(page, "snapshot-name").fill("snap1");
  await byTestID(page, "volume-snapshot").click();
  await byTestID(page, "snapshot-row-snap1").waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="snapshot-row-snap1"]')?.dataset.status === "available", null, { timeout: 20_000 });
  await byTestID(page, "nav-snapshots").click();
  await byTestID(page, "snapshot-row-snap1").waitFor();
  await shot(page, "34-snapshots");

  // A volume from the snapshot; one from the image, with the write's progress.
  await byTestID(page, "snapshot-row-snap1").locator('[data-testid="snapshot-new-volume"]').click();
  await byTestID(page, "volume-name").fill("restored");
  await byTestID(page, "volume-submit").click();
  await waitLive("available");
  await page.goto(`${base}/volumes/new`);
  await byTestID(page, "volume-name").fill("bootable");
  await byTestID(page, "volume-size").fill("");
  await byTestID(page, "volume-source").selectOption("image");
  await byTestID(page, "volume-image").selectOption(imageID);
  await byTestID(page, "volume-submit").click();
  await page.waitForURL(/\/volumes\/[0-9a-f-]{36}$/);
  await waitLive("available");
  await shot(page, "35-volume-from-image");
  await byTestID(page, "nav-volumes").click();
  for (const n of ["data", "restored", "bootable"]) await waitStatus(n, "available");
  await shot(page, "36-volumes");

  // Deleting a volume with a snapshot is refused, saying why.
  await page.goto(volURL);
  await byTestID(page, "volume-delete").click();
  await byTestID(page, "volume-delete-confirm").click();
  assert.match(await byTestID(page, "flash-error").textContent(), /snapshot/);
  await byTestID(page, "nav-snapshots").click();
  await byTestID(page, "snapshot-row-snap1").locator('[data-testid="snapshot-delete"]').click();
  await byTestID(page, "snapshot-row-snap1").locator('[data-testid="snapshot-delete-confirm"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="snapshot-row-snap1"]'), null, { timeout: 20_000 });
  for (const n of ["data", "restored", "bootable"]) {
    await byTestID(page, "nav-volumes").click();
    await byTestID(page, `volume-row-${n}`).locator('[data-testid="volume-link"]').click();
    await byTestID(page, "volume-delete").click();
    await byTestID(page, "volume-delete-confirm").click();
    await page.waitForURL(`${base}/volumes`);
  }
  await page.waitForFunction(() => !document.querySelector('[data-testid^="volume-row-"]'), null, { timeout: 20_000 });
}

// Words a Korean page may show in Latin letters: the brand, units,
// protocol and format names, the language menu's "English" (a language is
// named in itself), and what the people of this test typed or the dev
// setup named (projects, users, hosts, flavors, images, networks…).
const LATIN_OK = new Set([
  "Stratus", "English",
  "B", "KiB", "MiB", "GiB", "TiB", "MB", "GB", "TB", "vCPU", "vCPUs", "RAM", "UTC",
  "IPv4", "IPv6", "IP", "IPs", "CIDR", "MAC", "MTU", "DHCP", "DNS", "ID", "UUID", "URL", "API", "JSON", "SSH", "TCP", "UDP",
  "ICMP", "VNC", "VXLAN", "ETag", "qcow2", "raw", "ISO", "aki", "ari", "ami", "OpenStack", "Swift", "Nova", "Neutron",
  // names typed in this test or made by `stratus dev`
  "admin", "demo", SECOND_PROJECT, "tiny-disk", "laptop", "app-net", "web", "worker-1", "worker-2", "worker-3", "photos",
  "holiday", "ci-deploy", "default", "dev-1", "dev-2", "firmware", "update", "GPU", "experiments", "fast", "file",
  "public", "demo-net", "demo-router", "nova", "m1.nano", "m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge",
  "tiny-disk.raw", "fake", "edge",
  // examples and names of other software in translated sentences: key types,
  // tools, Nova's server group policies, cloud-init
  "name-1", "name-2", "ssh-ed25519", "AAAA", "NIC", "affinity", "anti-affinity", "cloud-init", "cloud-config",
  "swift", "CLI", "rclone", "restic", "backups", "m2.xlarge", "VM", "Bearer",
].map((w) => w.toLowerCase()));

// englishOn returns the Latin-letter words of the page's visible text and
// of the attributes people read (placeholder, title, aria-label) that are
// not on the allowlist; IDs, addresses and e-mail addresses are left out.
async function englishOn(page) {
  const texts = await page.evaluate(() => {
    const out = [document.body.innerText];
    for (const el of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
      if (el.closest("[hidden], template") || !(el.offsetWidth || el.offsetHeight || el.getClientRects().length)) continue;
      for (const a of ["placeholder", "title", "aria-label"]) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
    for (const el of document.querySelectorAll("code, pre, kbd, samp, textarea")) out.push(["-CODE-", el.innerText]);
    return out;
  });
  let text = "";
  const code = [];
  for (const t of texts) (Array.isArray(t) ? code.push(t[1]) : (text += "\n" + t));
  for (const c of code) if (c) text = text.split(c).join(" "); // commands and code are copied as they are
  text = text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, " ")
    .replace(/\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/gi, " ") // MAC addresses
    .replace(/(^|\s)~?\/[\w./~-]*/g, " ") // paths: /object-storage, ~/.ssh/id_ed25519.pub
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/g, " ") // short IDs
    .replace(/\bvolume\/[\w-]+/g, " ") // the volume service's host names (volume/<backend>)
    .replace(/\b[\w.+-]+@[\w.-]+\b/g, " ")
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(\/\d+)?\b/g, " ")
    .replace(/\b(stk_|req-)[\w-]+/g, " ")
    .replace(/\b[0-9a-f]{12,}\b/g, " ");
  const found = new Set();
  for (const w of text.match(/[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z]/g) || []) {
    // CSS may write a header in capitals (vCPU → VCPU): compare without case.
    if (!LATIN_OK.has(w.toLowerCase()) && w.length > 1) found.add(w);
  }
  return [...found];
}

// korean walks the main pages with the user's language set to Korean:
// each at desktop width and at phone width (390 px), screenshots of both;
// it returns the English UI words left on them and the pages wider than
// a phone's screen (both must be empty).
async function korean(page, base, user, password, pages) {
  log(`${user}: the main pages in Korean, at desktop and phone width`);
  await login(page, base, user, password);
  await byTestID(page, "user-menu").locator("summary").click();
  await Promise.all([page.waitForLoadState("load"), byTestID(page, "language-ko").click()]);
  await page.waitForFunction(() => document.documentElement.lang === "ko");
  if (user === "demo" && (await byTestID(page, "current-project-name").textContent()) !== SECOND_PROJECT) {
    await Promise.all([page.waitForLoadState("load"), byTestID(page, "project-picker").selectOption({ label: SECOND_PROJECT })]);
    await page.waitForFunction((p) => document.querySelector('[data-testid="current-project-name"]')?.textContent === p, SECOND_PROJECT);
  }
  const phone = watch(await context.newPage());
  await phone.setViewportSize({ width: 390, height: 844 });
  const english = [];
  const wide = [];
  for (const [name, path] of pages) {
    const url = typeof path === "function" ? await path(page) : path;
    for (const [p, suffix] of [[page, ""], [phone, "-phone"]]) {
      await p.goto(`${base}${url}`);
      await p.waitForLoadState("load");
      assert.equal(await p.evaluate(() => document.documentElement.lang), "ko", `${url} is in Korean`);
      await shot(p, `ko-${name}${suffix}`);
      const words = await englishOn(p);
      if (words.length) english.push(`${url}${suffix}: ${words.join(", ")}`);
      if (p === phone) {
        const [sw, iw] = await p.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
        if (sw > iw) wide.push(`${url}: ${sw}px wide at ${iw}px`);
      }
    }
  }
  await phone.close();
  await logout(page);
  return { english, wide };
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
  // Generous: on CI's two busy cores an htmx swap can take seconds; a
  // real failure still fails, only later.
  page.setDefaultTimeout(30_000);

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
  await objects(page, base);

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
  await byTestID(page, "nav-admin-volumes").click();
  await byTestID(page, "backend-file").waitFor();
  await byTestID(page, "volume-type-name").fill("fast");
  await byTestID(page, "volume-type-backend").fill("file");
  await byTestID(page, "volume-type-create").click();
  await byTestID(page, "volume-type-fast").waitFor();
  await shot(page, "37-admin-volumes");
  await logout(page);

  const tenant = await korean(page, base, "demo", DEMO_PASSWORD, [
    ["overview", "/"],
    ["instances", "/instances"],
    ["launch", "/instances/new"],
    ["instance", async (p) => {
      await p.goto(`${base}/instances`);
      return new URL(await byTestID(p, "instance-row-worker-1").locator('[data-testid="instance-link"]').evaluate((a) => a.href)).pathname;
    }],
    ["images", "/images"],
    ["keypairs", "/keypairs"],
    ["volumes", "/volumes"],
    ["networks", "/networks"],
    ["security-groups", "/security-groups"],
    ["routers", "/routers"],
    ["floating-ips", "/floating-ips"],
    ["containers", "/containers"],
    ["snapshots", "/snapshots"],
    ["flavors", "/flavors"],
    ["tokens", "/tokens"],
    ["container", "/containers/photos"],
  ]);
  const operator = await korean(page, base, "admin", ADMIN_PASSWORD, [
    ["admin-hypervisors", "/admin/hypervisors"],
    ["admin-projects", "/admin/projects"],
    ["admin-users", "/admin/users"],
    ["admin-flavors", "/admin/flavors"],
    ["admin-instances", "/admin/instances"],
    ["admin-volumes", "/admin/volumes"],
    ["admin-jobs", "/admin/jobs"],
  ]);
  assert.deepEqual({ english: [...tenant.english, ...operator.english], wide: [...tenant.wide, ...operator.wide] }, { english: [], wide: [] },
    "English UI words left on the Korean pages, or pages wider than a phone at 390px");

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
