// The instance Console tab: noVNC's RFB client on the websocket the page
// names (/console/vnc?token=…, a single-use token for this user). Loaded as
// a module only by that page; no inline code, so the CSP stays strict.
import RFB from "./novnc/core/rfb.js";

const screen = document.getElementById("vnc-screen");
const status = document.getElementById("vnc-status");

function say(text, state) {
  if (!status) return;
  status.textContent = text;
  status.dataset.state = state;
}

if (screen) {
  const url = new URL(screen.dataset.vncUrl, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const rfb = new RFB(screen, url.href, { wsProtocols: ["binary"] });
  rfb.scaleViewport = true;
  rfb.background = "#020617";
  rfb.addEventListener("connect", () => say("Connected", "connected"));
  rfb.addEventListener("disconnect", (e) =>
    say(e.detail.clean ? "Disconnected" : "The console connection was lost: reload the page to open a new one", "disconnected"));
  rfb.addEventListener("securityfailure", (e) => say("The console refused the connection: " + (e.detail.reason || "security failure"), "failed"));
  rfb.addEventListener("desktopname", (e) => { if (e.detail.name) screen.setAttribute("aria-label", "Console of " + e.detail.name); });
  const cad = document.getElementById("vnc-ctrl-alt-del");
  if (cad) cad.addEventListener("click", () => rfb.sendCtrlAltDel());
}
