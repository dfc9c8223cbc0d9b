package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// loginFailed is the one message for every refused login: unknown user,
// wrong password, locked or disabled account all read the same.
func loginFailed(ctx context.Context) string {
	return i18n.T(ctx, "The username or password is not correct, or the account cannot sign in right now.")
}

// maxNameLength is the longest user name the model accepts.
const maxNameLength = 64

func (h *Web) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpx.CallerFrom(r.Context()); ok {
		redirect(w, r, "/")
		return
	}
	p := pages.LoginProps{Next: safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Has("signed_out") {
		p.Notice = i18n.T(r.Context(), "You have signed out.")
	}
	h.render(w, r, http.StatusOK, pages.LoginPage(h.shell(r, i18n.T(r.Context(), "Sign in"), ""), p))
}

// login checks the password (the model applies lockout and audits), then
// starts a fresh session: a new session token (no fixation), a new CSRF
// token, the user, their first project and the login time.
func (h *Web) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := pages.LoginProps{
		Username: strings.TrimSpace(r.PostFormValue("username")),
		Next:     safeNext(r.PostFormValue("next")),
		Fields:   map[string]string{},
	}
	password := r.PostFormValue("password")
	if p.Username == "" {
		p.Fields["username"] = i18n.T(r.Context(), "Enter your username.")
	}
	if password == "" {
		p.Fields["password"] = i18n.T(r.Context(), "Enter your password.")
	}
	if len(p.Fields) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, pages.LoginPage(h.shell(r, i18n.T(r.Context(), "Sign in"), ""), p))
		return
	}
	if len(p.Username) > maxNameLength {
		// No such user can exist (names are at most 64 characters): refuse
		// as for any unknown user, without a trip to the database.
		p.Error = loginFailed(r.Context())
		h.render(w, r, http.StatusUnauthorized, pages.LoginPage(h.shell(r, i18n.T(r.Context(), "Sign in"), ""), p))
		return
	}
	u, err := h.Store.Login(ctx, models.LoginInput{
		Username: p.Username, Password: password, RemoteAddr: httpx.RemoteHost(r), RequestID: httpx.RequestID(r),
	})
	if errors.Is(err, models.ErrUnauthenticated) {
		p.Error = loginFailed(r.Context())
		h.render(w, r, http.StatusUnauthorized, pages.LoginPage(h.shell(r, i18n.T(r.Context(), "Sign in"), ""), p))
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.Sessions.RenewToken(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	var projectID string
	ms, err := h.Store.ProjectsOfUser(ctx, u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if len(ms) > 0 {
		projectID = ms[0].ID
	}
	h.Sessions.Put(ctx, keyUserID, u.ID)
	h.Sessions.Put(ctx, keyProjectID, projectID)
	h.Sessions.Put(ctx, keyLoginAt, h.Store.Now().UnixMicro())
	h.Sessions.Put(ctx, keyCSRF, newCSRFToken())
	to := p.Next
	if to == "" {
		to = "/"
	}
	redirect(w, r, to)
}

// logout ends the session everywhere (it is deleted from the database, so
// the old cookie is worthless) and records it in the audit log.
func (h *Web) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.Store.RecordLogout(ctx, callerOf(ctx)); err != nil {
		// The user asked to leave: end the session even if the audit
		// write failed, and say so in the log.
		h.Log.Error("audit logout", "err", err, "request_id", httpx.RequestID(r))
	}
	if err := h.Sessions.Destroy(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	redirect(w, r, "/login?signed_out=1")
}
