package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
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
	h.render(w, r, status, pages.KeyPairsPage(h.shell(r, i18n.T(r.Context(), "Key pairs"), "keypairs"), p))
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
		form.Errors["public_key"] = i18n.T(r.Context(), "paste an OpenSSH public key, or use Generate")
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
		h.flash(r, i18n.T(r.Context(), "Key pair %s imported.", kp.Name))
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
	h.finish(w, r, err, "/keypairs", i18n.T(r.Context(), "Key pair %s deleted. Instances that booted with it keep the key.", kp.Name))
}

// flavors lists the flavors the project may launch.
func (h *Web) flavors(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	items, err := h.Store.ListFlavors(ctx, callerOf(ctx), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.FlavorsPage(h.shell(r, i18n.T(r.Context(), "Flavors"), "flavors"), pages.FlavorsProps{Items: items}))
}
