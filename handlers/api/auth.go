package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"stratus/handlers/httpx"
	"stratus/models"
)

type ctxKey int

const badTokenKey ctxKey = iota

// badTokenFrom reports whether the request carried a bearer token that did
// not authenticate (so a 401 can say the token, not its absence, is why).
func badTokenFrom(ctx context.Context) bool {
	bad, _ := ctx.Value(badTokenKey).(bool)
	return bad
}

// authenticate resolves "Authorization: Bearer <token>" to the caller. A
// missing or bad token leaves the request anonymous: the route's policy then
// refuses it with 401 unless the action is public. Only a failing database
// stops the request here. The token itself is never logged.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, given, ok := httpx.BearerToken(r)
		if !given {
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), badTokenKey, true)))
			return
		}
		c, err := a.Store.AuthenticateToken(r.Context(), secret)
		switch {
		case errors.Is(err, models.ErrUnauthenticated):
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), badTokenKey, true)))
			return
		case err != nil:
			a.fail(w, r, err)
			return
		}
		c.RemoteAddr, c.RequestID = httpx.RemoteHost(r), httpx.RequestID(r)
		next.ServeHTTP(w, r.WithContext(httpx.WithCaller(r.Context(), c)))
	})
}

// Ref names a user or project.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// IssueTokenRequest is a login for the API.
type IssueTokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Project (ID or name) scopes the token; leave it out for an unscoped
	// token that can only read /me.
	Project string `json:"project"`
}

// IssuedToken is a new login token: the secret appears here only.
type IssuedToken struct {
	Token       string        `json:"token"`
	ExpiresAt   time.Time     `json:"expires_at"`
	User        Ref           `json:"user"`
	Project     *Ref          `json:"project"`      // null for an unscoped token
	Roles       []models.Role `json:"roles"`        // on the project, implied roles included
	SystemRoles []models.Role `json:"system_roles"` // on the system (operators)
}

// issueToken is POST /auth/tokens: a username and password for a token.
// Unknown user, wrong password, disabled and locked accounts all get the
// same 401, so the answer does not tell which names exist.
func (a *API) issueToken(r *http.Request, in struct {
	Body IssueTokenRequest `body:"json"`
}) (IssuedToken, error) {
	p := models.Problems{}
	if in.Body.Username == "" {
		p.Add("username", "is required")
	}
	if in.Body.Password == "" {
		p.Add("password", "is required")
	}
	if err := p.Err(); err != nil {
		return IssuedToken{}, err
	}
	t, err := a.Store.IssueLoginToken(r.Context(), models.LoginInput{
		Username: in.Body.Username, Password: in.Body.Password,
		RemoteAddr: httpx.RemoteHost(r), RequestID: httpx.RequestID(r),
	}, in.Body.Project)
	if errors.Is(err, models.ErrUnauthenticated) {
		return IssuedToken{}, &models.Error{Kind: models.ErrUnauthenticated, Msg: "wrong username or password, or the account is locked or disabled"}
	}
	if err != nil {
		return IssuedToken{}, err
	}
	c := t.Caller
	return IssuedToken{
		Token: t.Secret, ExpiresAt: t.Token.ExpiresAt.UTC(),
		User: Ref{ID: c.UserID, Name: c.UserName}, Project: projectRef(c),
		Roles: implied(c.ProjectRole), SystemRoles: implied(c.SystemRole),
	}, nil
}

// revokeCurrentToken is DELETE /auth/tokens/current: log out of the API.
func (a *API) revokeCurrentToken(r *http.Request, c models.Caller, _ none) (none, error) {
	return none{}, a.Store.RevokeToken(r.Context(), c, c.TokenID)
}

func projectRef(c models.Caller) *Ref {
	if c.ProjectID == "" {
		return nil
	}
	return &Ref{ID: c.ProjectID, Name: c.ProjectName}
}

// implied lists a role with the roles it implies, weakest first (admin
// holds member and reader), so a client can test membership simply.
func implied(r models.Role) []models.Role {
	out := []models.Role{}
	for _, x := range models.Roles {
		if r.AtLeast(x) {
			out = append(out, x)
		}
	}
	return out
}
