package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// defaultTokenDays is the expiry the create form suggests.
const defaultTokenDays = 90

func (h *Web) tokens(w http.ResponseWriter, r *http.Request) {
	form := ui.NewForm(map[string]string{"expires_in_days": strconv.Itoa(defaultTokenDays)})
	h.renderTokens(w, r, http.StatusOK, form, nil)
}

func (h *Web) renderTokens(w http.ResponseWriter, r *http.Request, status int, form ui.Form, created *pages.CreatedToken) {
	ctx := r.Context()
	c := callerOf(ctx)
	s := h.shell(r, i18n.T(r.Context(), "API tokens"), "tokens")
	rows, err := h.tokenRows(r, c, s.CSRF)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.TokensProps{Rows: rows, Form: form, Created: created, ProjectName: c.ProjectName, MaxDays: h.maxTokenDays()}
	h.render(w, r, status, pages.TokensPage(s, p))
}

func (h *Web) maxTokenDays() int {
	return int(h.Store.Options().MaxTokenTTL / (24 * time.Hour))
}

// tokenRows lists the caller's own tokens with their project names.
func (h *Web) tokenRows(r *http.Request, c models.Caller, csrf string) ([]pages.TokenRow, error) {
	ctx := r.Context()
	toks, err := h.Store.ListAPITokens(ctx, c)
	if err != nil {
		return nil, err
	}
	ms, err := h.Store.ProjectsOfUser(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, m := range ms {
		names[m.ID] = m.Name
	}
	now := h.Store.Now()
	rows := make([]pages.TokenRow, 0, len(toks))
	for _, t := range toks {
		name, ok := names[t.ProjectID]
		if !ok {
			// A project the user no longer works in: its name is not
			// theirs to read any more; the ID's start tells tokens apart.
			name = i18n.T(r.Context(), "project %s", shortID(t.ProjectID))
		}
		rows = append(rows, pages.TokenRow{Token: t, ProjectName: name, Status: tokenStatus(t, now), CSRF: csrf})
	}
	return rows, nil
}

func tokenStatus(t models.Token, now time.Time) pages.TokenStatus {
	switch {
	case t.RevokedAt != nil:
		return pages.TokenRevoked
	case !t.ExpiresAt.After(now):
		return pages.TokenExpired
	}
	return pages.TokenActive
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// createToken makes a token in the current project and shows its secret in
// this response only: it is never stored, redirected with, or listed.
func (h *Web) createToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	form := ui.NewForm(map[string]string{
		"name":            strings.TrimSpace(r.PostFormValue("name")),
		"expires_in_days": strings.TrimSpace(r.PostFormValue("expires_in_days")),
	})
	days, err := strconv.Atoi(form.Get("expires_in_days"))
	if err != nil || days < 1 {
		form.Errors["expires_in_days"] = i18n.T(r.Context(), "must be a whole number of days, at least 1")
	}
	if form.Get("name") == "" {
		form.Errors["name"] = i18n.T(r.Context(), "is required")
	}
	if form.HasErrors() {
		h.renderTokens(w, r, http.StatusUnprocessableEntity, form, nil)
		return
	}
	it, err := h.Store.CreateAPIToken(ctx, c, models.APITokenInput{Name: form.Get("name"), ExpiresInDays: days})
	if fields := fieldErrors(r.Context(), err); fields != nil {
		for k, v := range fields {
			switch k {
			case "name":
				form.Errors["name"] = v
			case "expires_at":
				form.Errors["expires_in_days"] = v
			default:
				form.Error = v
			}
		}
		h.renderTokens(w, r, http.StatusUnprocessableEntity, form, nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	created := &pages.CreatedToken{ID: it.Token.ID, Name: it.Token.Name, Secret: it.Secret,
		ProjectName: c.ProjectName, ExpiresAt: it.Token.ExpiresAt}
	h.renderTokens(w, r, http.StatusCreated, ui.NewForm(map[string]string{"expires_in_days": strconv.Itoa(defaultTokenDays)}), created)
}

// revokeToken revokes one of the caller's tokens. htmx gets the row back,
// revoked; a plain form post goes back to the list.
func (h *Web) revokeToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	if err := h.Store.RevokeToken(ctx, c, id); err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		rows, err := h.tokenRows(r, c, h.csrfToken(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, row := range rows {
			if row.Token.ID == id {
				h.render(w, r, http.StatusOK, pages.TokenRowView(row))
				return
			}
		}
	}
	h.flash(r, i18n.T(r.Context(), "Token revoked."))
	redirect(w, r, "/tokens")
}
