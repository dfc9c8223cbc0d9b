package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/pages"
	"stratus/views/ui"
)

func (h *Web) keypairs(w http.ResponseWriter, r *http.Request) {
	h.renderKeypairs(w, r, http.StatusOK, ui.NewForm(nil), nil)
}

func (h *Web) renderKeypairs(w http.ResponseWriter, r *http.Request, status int, form ui.Form, created *models.NewKeyPair) {
	ctx := r.Context()
	items, err := h.Store.ListKeyPairs(ctx, callerOf(ctx))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.KeyPairsProps{Items: items, Form: form, Created: created,
		CanCreate: h.allowed(ctx, "compute:keypair:create"), CanDelete: h.allowed(ctx, "compute:keypair:delete")}
	h.render(w, r, status, pages.KeyPairsPage(h.shell(r, "Key pairs", "keypairs"), p))
}

// createKeypair imports the pasted public key, or generates a pair when
// none is pasted. A generated private key is in this response only: it is
// never stored, redirected with, or shown again.
func (h *Web) createKeypair(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{
		"name":       strings.TrimSpace(r.PostFormValue("name")),
		"public_key": strings.TrimSpace(r.PostFormValue("public_key")),
	})
	if r.PostFormValue("mode") == "generate" {
		form.Values["public_key"] = "" // the button says generate: ignore a pasted key
	} else if form.Get("public_key") == "" {
		form.Errors["public_key"] = "paste an OpenSSH public key, or use Generate"
		h.renderKeypairs(w, r, http.StatusUnprocessableEntity, form, nil)
		return
	}
	kp, err := h.Store.CreateKeyPair(ctx, callerOf(ctx), models.KeyPairInput{Name: form.Get("name"), PublicKey: form.Get("public_key")})
	if h.formFailed(r, err, &form) {
		h.renderKeypairs(w, r, httpStatus(err), form, nil)
		return
	}
	if err != nil && httpStatus(err) == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // the key pair quota
		h.renderKeypairs(w, r, http.StatusForbidden, form, nil)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if kp.PrivateKey == "" {
		h.flash(r, "Key pair "+kp.Name+" imported.")
		redirect(w, r, "/keypairs")
		return
	}
	h.renderKeypairs(w, r, http.StatusCreated, ui.NewForm(nil), &kp)
}

func (h *Web) deleteKeypair(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	kp, err := h.Store.GetKeyPair(ctx, c, chi.URLParam(r, "id"))
	if err == nil {
		err = h.Store.DeleteKeyPair(ctx, c, kp.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, "Key pair "+kp.Name+" deleted. Instances that booted with it keep the key.")
	redirect(w, r, "/keypairs")
}

// flavors lists the flavors the project may launch.
func (h *Web) flavors(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	items, err := h.Store.ListFlavors(ctx, callerOf(ctx), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.FlavorsPage(h.shell(r, "Flavors", "flavors"), pages.FlavorsProps{Items: items}))
}
