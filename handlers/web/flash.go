package web

import (
	"net/http"
)

// Flash messages: a form that changed something redirects (303) to a page,
// which shows one line saying what happened. The line rides in the session
// until a whole page shows it (shell pops it).

// flash stores a one-time message shown by the next page.
func (h *Web) flash(r *http.Request, msg string) { h.Sessions.Put(r.Context(), keyFlash, msg) }

// flashError stores a one-time error message shown by the next page.
func (h *Web) flashError(r *http.Request, msg string) {
	h.Sessions.Put(r.Context(), keyFlashError, msg)
}

// finish ends a form that acted on one thing and returns to back: on
// success with done as the flash; when the model refused in a way the user
// can act on from that page (a conflicting state, an invalid value) with the
// refusal as a flash error; anything else is an error page. done is only
// shown on success, so callers may build it from a result that is empty on
// failure.
func (h *Web) finish(w http.ResponseWriter, r *http.Request, err error, back, done string) {
	switch st := httpStatus(err); {
	case err == nil:
		h.flash(r, done)
	case refusal(st):
		h.flashError(r, h.userMessage(r, err))
	default:
		h.fail(w, r, err)
		return
	}
	redirect(w, r, back)
}

// refusal reports a status of a model refusal that a flash on the page the
// form came from explains (the state or the value was wrong); other errors
// (not found, forbidden, internal) get their own page.
func refusal(status int) bool {
	return status == http.StatusConflict || status == http.StatusUnprocessableEntity
}
