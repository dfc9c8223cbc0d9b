// Builds static/dist, which the Go binary embeds: Tailwind CSS (content from
// views/ and handlers/web, plus uPlot's stylesheet), htmx, uPlot, and
// Stratus' own scripts and icon. The
// output depends only on the inputs (no timestamps, no absolute paths), so
// `make verify-generated` can compare it byte for byte.
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "static", "src");
const dist = join(root, "static", "dist");
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const tailwind = join(dirname(require.resolve("@tailwindcss/cli/package.json")), "dist", "index.mjs");
execFileSync(process.execPath, [tailwind, "--input", join(src, "app.css"), "--output", join(dist, "app.css"), "--minify"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});

copyFileSync(join(dirname(require.resolve("htmx.org/package.json")), "dist", "htmx.min.js"), join(dist, "htmx.min.js"));
// uPlot draws the overview's quota chart; app.js loads it only on pages
// that have a chart.
copyFileSync(join(dirname(require.resolve("uplot/package.json")), "dist", "uPlot.iife.min.js"), join(dist, "uplot.min.js"));
// noVNC (ES modules) for the instance Console tab; console.js imports it.
const novnc = dirname(dirname(require.resolve("@novnc/novnc"))); // its only export is core/rfb.js
for (const part of ["core", "vendor", "LICENSE.txt"]) cpSync(join(novnc, part), join(dist, "novnc", part), { recursive: true });
for (const name of readdirSync(src).sort()) {
  if (name.endsWith(".js") || name.endsWith(".svg")) copyFileSync(join(src, name), join(dist, name));
}
console.log("static/dist: " + readdirSync(dist).sort().join(", "));
