package object

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"stratus/handlers/httpx"
	"stratus/models"
)

// tempAuth is GET /object-storage/auth/v1.0, Swift's TempAuth login, so
// that `swift -A …/auth/v1.0 -U project:user -K password` and other v1
// clients work without Keystone: the answer carries a Stratus API token
// scoped to the project and the account's storage URL. Failed logins
// count towards the account's lockout like any other.
func (a *API) tempAuth(w http.ResponseWriter, r *http.Request, _ *request) {
	user := firstHeader(r.Header, "X-Auth-User", "X-Storage-User")
	key := firstHeader(r.Header, "X-Auth-Key", "X-Storage-Pass")
	project, name, ok := strings.Cut(user, ":")
	if !ok || project == "" || name == "" || key == "" {
		a.fail(w, r, unauthorized("Send X-Auth-User: <project>:<user> and X-Auth-Key: <password>."))
		return
	}
	t, err := a.Store.IssueLoginToken(r.Context(), models.LoginInput{
		Username: name, Password: key, RemoteAddr: httpx.RemoteHost(r), RequestID: httpx.RequestID(r),
	}, project)
	if errors.Is(err, models.ErrUnauthenticated) || errors.Is(err, models.ErrForbidden) || (err == nil && t.Caller.ProjectID == "") {
		a.fail(w, r, unauthorized("Wrong user, project or password, or the account is locked or disabled."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Auth-Token", t.Secret)
	h.Set("X-Storage-Token", t.Secret)
	h.Set("X-Storage-Url", a.StorageURL(r, t.Caller.ProjectID))
	h.Set("X-Auth-Token-Expires", strconv.FormatInt(int64(t.Token.ExpiresAt.Sub(a.Store.Now()).Seconds()), 10))
	h.Set("Cache-Control", "no-store")
	empty(w, http.StatusOK)
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
