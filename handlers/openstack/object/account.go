package object

import (
	"fmt"
	"net/http"

	"stratus/models"
)

// accountHeaders sets an account's totals, metadata and quotas.
func (a *API) accountHeaders(w http.ResponseWriter, r *http.Request, q *request) error {
	acct, err := a.Store.GetAccount(r.Context(), q.project)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-Account-Container-Count", fmt.Sprint(acct.Containers))
	h.Set("X-Account-Object-Count", fmt.Sprint(acct.Objects))
	h.Set("X-Account-Bytes-Used", fmt.Sprint(acct.Bytes))
	h.Set("X-Timestamp", models.SwiftTimestamp(acct.CreatedAt))
	h.Set("X-Account-Storage-Policy-"+storagePolicy+"-Container-Count", fmt.Sprint(acct.Containers))
	h.Set("X-Account-Storage-Policy-"+storagePolicy+"-Object-Count", fmt.Sprint(acct.Objects))
	h.Set("X-Account-Storage-Policy-"+storagePolicy+"-Bytes-Used", fmt.Sprint(acct.Bytes))
	writeMeta(h, acct.Metadata, a.Policy.Allowed(q.caller, "object:account:update"))
	// The project's quotas, in the headers Swift's account quotas use.
	if acct.QuotaBytes != models.Unlimited {
		h.Set("X-Account-Meta-Quota-Bytes", fmt.Sprint(acct.QuotaBytes))
	}
	if acct.QuotaCount != models.Unlimited {
		h.Set("X-Account-Meta-Quota-Count", fmt.Sprint(acct.QuotaCount))
	}
	return nil
}

// headAccount is HEAD /v1/AUTH_<project>: the account's totals (204).
func (a *API) headAccount(w http.ResponseWriter, r *http.Request, q *request) {
	if err := a.accountHeaders(w, r, q); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getAccount is GET /v1/AUTH_<project>: its containers.
func (a *API) getAccount(w http.ResponseWriter, r *http.Request, q *request) {
	o, _, err := listing(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.Store.ListContainers(r.Context(), q.project, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.accountHeaders(w, r, q); err != nil {
		a.fail(w, r, err)
		return
	}
	format := listingFormat(r)
	n, body := containerListing(format, q.account, entries)
	writeListing(w, r, format, n, body)
}

// postAccount is POST /v1/AUTH_<project>: metadata, such as the
// Temp-URL-Key temporary URLs are signed with.
func (a *API) postAccount(w http.ResponseWriter, r *http.Request, q *request) {
	set, remove := metaChange(r.Header, "account")
	if err := a.Store.UpdateAccount(r.Context(), q.project, set, remove); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
