package api

import (
	"net/http"

	"stratus/models"
)

// KeyPairList is a page of the project's key pairs, by name. Private keys
// are never stored, so never listed.
type KeyPairList struct {
	KeyPairs []models.KeyPair `json:"keypairs"`
	Next     *string          `json:"next"`
}

// keypairPath names a key pair of the caller's project by ID or name.
type keypairPath struct {
	ID string `path:"id" doc:"The key pair's ID or name."`
}

func (a *API) listKeyPairs(r *http.Request, c models.Caller, in namedPage) (KeyPairList, error) {
	p, err := a.Store.ListKeyPairsPage(r.Context(), c, in.options())
	if err != nil {
		return KeyPairList{}, err
	}
	return KeyPairList{KeyPairs: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createKeyPair imports public_key, or generates a pair when it is absent:
// the private key is in this answer and nowhere else, ever.
func (a *API) createKeyPair(r *http.Request, c models.Caller, in struct {
	Body models.KeyPairInput `body:"json"`
}) (models.NewKeyPair, error) {
	return a.Store.CreateKeyPair(r.Context(), c, in.Body)
}

func (a *API) getKeyPair(r *http.Request, c models.Caller, in keypairPath) (models.KeyPair, error) {
	return a.Store.GetKeyPair(r.Context(), c, in.ID)
}

// deleteKeyPair removes a key pair; instances keep the key they booted with.
func (a *API) deleteKeyPair(r *http.Request, c models.Caller, in keypairPath) (none, error) {
	return none{}, a.Store.DeleteKeyPair(r.Context(), c, in.ID)
}
