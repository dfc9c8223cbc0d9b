package compute

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/ssh"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// keyPairView is Nova's key pair. Nova's fingerprint is the legacy MD5 one
// (Stratus records SHA-256; both are of the same key).
func keyPairView(r *http.Request, k models.KeyPair, detail bool) map[string]any {
	fp := k.Fingerprint
	if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey)); err == nil {
		fp = ssh.FingerprintLegacyMD5(pub)
	}
	v := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": fp}
	if versionOf(r).AtLeast(2, 2) {
		v["type"] = "ssh"
	}
	if detail {
		v["user_id"], v["created_at"], v["deleted"], v["deleted_at"], v["updated_at"] =
			k.UserID, k.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000"), false, nil, nil
	}
	return v
}

func (c *Compute) listKeyPairs(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	keys, err := c.Store.ListKeyPairs(r.Context(), *caller)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(keys))
	for i, k := range keys {
		out[i] = map[string]any{"keypair": keyPairView(r, k, false)}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"keypairs": out})
	return nil
}

// createKeyPair imports public_key, or generates a pair (the private key is
// in this answer only). Nova answers 200 before 2.2, 201 since.
func (c *Compute) createKeyPair(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	var in struct {
		Keypair struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Type      string `json:"type"`
			UserID    string `json:"user_id"`
		} `json:"keypair"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	k := in.Keypair
	if k.Type != "" && k.Type != "ssh" {
		return service.BadRequest("Invalid input for field/attribute type: Stratus key pairs are ssh keys.")
	}
	if k.UserID != "" && k.UserID != caller.UserID {
		return service.BadRequest("Key pairs belong to the project: user_id cannot name another user.")
	}
	kp, err := c.Store.CreateKeyPair(r.Context(), *caller, models.KeyPairInput{Name: k.Name, PublicKey: k.PublicKey})
	if err != nil {
		var ve *models.ValidationError
		if errors.As(err, &ve) && strings.HasSuffix(ve.Fields["name"], "exists in the project") {
			return &service.HTTPError{Status: http.StatusConflict, Message: "Key pair '" + k.Name + "' already exists."}
		}
		return err
	}
	v := keyPairView(r, kp.KeyPair, false)
	v["user_id"] = kp.UserID
	if kp.PrivateKey != "" {
		v["private_key"] = kp.PrivateKey
	}
	status := http.StatusOK
	if versionOf(r).AtLeast(2, 2) {
		status = http.StatusCreated
	}
	service.WriteJSON(w, status, map[string]any{"keypair": v})
	return nil
}

func (c *Compute) findKeyPair(r *http.Request, caller *models.Caller) (models.KeyPair, error) {
	name := chi.URLParam(r, "name")
	k, err := c.Store.GetKeyPair(r.Context(), *caller, name)
	if errors.Is(err, models.ErrNotFound) {
		return k, service.NotFound("Keypair " + name + " not found for user " + caller.UserID)
	}
	return k, err
}

func (c *Compute) getKeyPair(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	k, err := c.findKeyPair(r, caller)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"keypair": keyPairView(r, k, true)})
	return nil
}

func (c *Compute) deleteKeyPair(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	k, err := c.findKeyPair(r, caller)
	if err != nil {
		return err
	}
	if err := c.Store.DeleteKeyPair(r.Context(), *caller, k.ID); err != nil {
		return err
	}
	status := http.StatusAccepted
	if versionOf(r).AtLeast(2, 2) {
		status = http.StatusNoContent
	}
	service.Empty(w, status)
	return nil
}
