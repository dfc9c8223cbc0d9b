package api

import (
	"net/http"

	"stratus/models"
)

// TokenList is a page of the caller's named API tokens. Secrets are never
// listed: only the prefix that tells tokens apart.
type TokenList struct {
	Tokens []models.Token `json:"tokens"`
	Next   *string        `json:"next"`
}

// CreatedToken is a new named API token with its secret, shown this once.
type CreatedToken struct {
	models.Token
	Secret string `json:"secret"`
}

// listTokens is GET /tokens: the caller's own named tokens, newest first.
func (a *API) listTokens(r *http.Request, c models.Caller, in namedPage) (TokenList, error) {
	p, err := a.Store.ListAPITokensPage(r.Context(), c, in.options())
	if err != nil {
		return TokenList{}, err
	}
	return TokenList{Tokens: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createToken is POST /tokens: a named token scoped to the caller's project.
func (a *API) createToken(r *http.Request, c models.Caller, in struct {
	Body models.APITokenInput `body:"json"`
}) (CreatedToken, error) {
	t, err := a.Store.CreateAPIToken(r.Context(), c, in.Body)
	if err != nil {
		return CreatedToken{}, err
	}
	return CreatedToken{Token: t.Token, Secret: t.Secret}, nil
}

// revokeToken is DELETE /tokens/{id}. Another user's token is 404.
func (a *API) revokeToken(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.RevokeToken(r.Context(), c, in.ID)
}
