package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// instanceConsoleLog is an instance's Console log tab: the tail of its
// serial console (?lines=N), refreshed while it runs.
func (h *Web) instanceConsoleLog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	lines := 200
	if v := r.URL.Query().Get("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(pages.ConsoleLogLines, n) {
			h.fail(w, r, models.Invalid("lines", i18n.N("must be 50, 200, 1000 or 0 (all)")))
			return
		}
		lines = n
	}
	log, err := h.Store.ConsoleLog(ctx, c, inst.ID, lines)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.InstanceConsoleProps{Inst: inst, Tab: "console-log", Here: r.URL.RequestURI(), Log: log, Lines: lines}
	h.renderPage(w, r, http.StatusOK, pages.InstanceConsolePage(h.shell(r, inst.Name, "instances"), p), "console-log")
}

// instanceConsole is an instance's Console tab: noVNC on a fresh
// single-use token for this user (each visit issues one, as Horizon does).
func (h *Web) instanceConsole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	p := pages.InstanceConsoleProps{Inst: inst, Tab: "console", Here: r.URL.RequestURI(), ScriptURL: h.Assets.URL("console.js")}
	t, err := h.Store.CreateConsoleToken(ctx, callerOf(ctx), inst.ID)
	switch {
	case err == nil:
		p.VNCURL = "/console/vnc?token=" + url.QueryEscape(t.Token)
	case errors.Is(err, models.ErrConflict):
		var me *models.Error
		if errors.As(err, &me) {
			p.Problem = me.Msg
		}
	default:
		h.fail(w, r, err)
		return
	}
	h.renderPage(w, r, http.StatusOK, pages.InstanceConsolePage(h.shell(r, inst.Name, "instances"), p), "")
}
