package web

import (
	"net/http"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/layout"
)

// withLocale puts the request's language in its context: the user's
// choice, else the browser's Accept-Language, else English. It runs after
// authenticate, which read the user's choice with the caller.
func (h *Web) withLocale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Language")
		l := h.Locales.Choose(callerOf(r.Context()).Locale, r.Header.Get("Accept-Language"))
		next.ServeHTTP(w, r.WithContext(i18n.WithLocale(r.Context(), l)))
	})
}

// setLanguage records the language the user chose in the user menu ("":
// follow the browser) and returns to the page the menu was on, in it.
func (h *Web) setLanguage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tag := r.PostFormValue("language")
	back := safeNext(r.PostFormValue("next"))
	if back == "" {
		back = "/"
	}
	if tag != "" && !h.Locales.Supported(tag) {
		// The menu offers only the console's languages: another value is a
		// bad request, refused as one, and the user's choice stays.
		h.fail(w, r, models.Invalid("language", i18n.N("must be one of the console's languages")))
		return
	}
	if err := h.Store.SetLocale(ctx, callerOf(ctx), tag); err != nil {
		h.fail(w, r, err)
		return
	}
	l := h.Locales.Choose(tag, r.Header.Get("Accept-Language"))
	h.flash(r, l.T("Language set to %s.", l.Name()))
	redirect(w, r, back)
}

// languages are the user menu's choices, the current one marked.
func (h *Web) languages(c models.Caller) []layout.Language {
	out := []layout.Language{}
	for _, l := range h.Locales.Locales() {
		out = append(out, layout.Language{Tag: l.Tag(), Name: l.Name(), Chosen: c.Locale == l.Tag()})
	}
	return out
}
