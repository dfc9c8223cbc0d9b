// Package object serves OpenStack Swift's object storage API — what the
// swift and openstack CLIs, rclone, restic, Cyberduck and gophercloud speak
// — at /object-storage: /object-storage/v1/AUTH_<project id>[/container
// [/object]], /object-storage/info, and a TempAuth-style
// /object-storage/auth/v1.0 login. It is a thin translator over the object
// intents in models (models/object_*.go), which keep the bytes in the
// object backend (models/objectstore) and everything else in the database.
//
// Who may do what: X-Auth-Token is a Stratus API token (or a Keystone token
// of the OpenStack facade, which are the same tokens). On its own
// project's account a caller is held to the policy table (readers read,
// members write); on another account only container ACLs let anyone in
// (X-Container-Read with .r:* makes a container public, project:user
// entries share it), and what no ACL grants is a 404 — another project's
// container does not exist for you. Temporary URLs (temp_url_sig,
// temp_url_expires) sign one method on one object with the account's or
// container's Temp-URL-Key.
//
// Every endpoint is a row of one route table (routes), which the RBAC
// matrix test walks.
package object

import (
	"log/slog"
	"net/http"
	"strings"

	"stratus/handlers/policy"
	"stratus/models"
)

// Prefix is where the object store is mounted.
const Prefix = "/object-storage"

// CatalogPath is the object-store endpoint's path in the Keystone catalog
// (the facade fills in the token's project).
const CatalogPath = Prefix + "/v1/AUTH_%(project_id)s"

// Deps are the object API's dependencies.
type Deps struct {
	Store  *models.Store
	Policy *policy.Enforcer
	Log    *slog.Logger
	// PublicURL is the URL clients reach Stratus at (no trailing slash);
	// empty: each request's own scheme and Host. Storage URLs and the
	// web UI's public and temporary URLs are built from it.
	PublicURL string
}

// API serves the Swift API.
type API struct {
	Deps
	table []route
}

// New builds the API. It panics when a route names an action the policy
// table lacks: a programming error that must stop start-up.
func New(d Deps) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &API{Deps: d}
	a.table = a.routes()
	for _, rt := range a.table {
		if !d.Policy.Known(rt.Action) {
			panic("object: route " + rt.Method + " " + rt.Pattern + " declares unknown action " + rt.Action)
		}
	}
	return a
}

// level is how deep a path goes.
type level int

const (
	levelInfo level = iota
	levelAuth
	levelAccount
	levelContainer
	levelObject
)

// route is one endpoint. Swift tells some requests apart by a query
// parameter (?bulk-delete): query names it, and the pattern shows it.
type route struct {
	Method  string
	Pattern string
	Action  string
	level   level
	query   string
	serve   func(w http.ResponseWriter, r *http.Request, q *request)
}

// routes is the Swift API. COPY is served as the PUT with X-Copy-From it
// stands for (Swift's own copy middleware does the same).
func (a *API) routes() []route {
	const (
		get, head, put, post, del = http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete
		acct, cont, obj           = "/v1/{account}", "/v1/{account}/{container}", "/v1/{account}/{container}/{object}"
	)
	return []route{
		{get, "/info", "object:info", levelInfo, "", a.info},
		{get, "/auth/v1.0", "object:auth", levelAuth, "", a.tempAuth},

		{head, acct, "object:account:get", levelAccount, "", a.headAccount},
		{get, acct, "object:account:get", levelAccount, "", a.getAccount},
		{post, acct + "?bulk-delete", "object:object:delete", levelAccount, "bulk-delete", a.bulkDelete},
		{del, acct + "?bulk-delete", "object:object:delete", levelAccount, "bulk-delete", a.bulkDelete},
		{post, acct, "object:account:update", levelAccount, "", a.postAccount},

		{head, cont, "object:container:get", levelContainer, "", a.headContainer},
		{get, cont, "object:container:get", levelContainer, "", a.getContainer},
		{put, cont, "object:container:create", levelContainer, "", a.putContainer},
		{post, cont, "object:container:update", levelContainer, "", a.postContainer},
		{del, cont, "object:container:delete", levelContainer, "", a.deleteContainer},

		{head, obj, "object:object:get", levelObject, "", a.getObject},
		{get, obj, "object:object:get", levelObject, "", a.getObject},
		{put, obj, "object:object:create", levelObject, "", a.putObject},
		{post, obj, "object:object:update", levelObject, "", a.postObject},
		{del, obj, "object:object:delete", levelObject, "", a.deleteObject},
	}
}

// Routes lists every endpoint with its policy action, relative to Prefix.
func (a *API) Routes() []policy.Route {
	out := make([]policy.Route, len(a.table))
	for i, rt := range a.table {
		out[i] = policy.Route{Method: rt.Method, Pattern: rt.Pattern, Action: rt.Action}
	}
	return out
}

// request is a parsed Swift request.
type request struct {
	account   string // AUTH_<project id>
	project   string // the account's project ("" when the account is not one of ours)
	container string
	object    string
	caller    *models.Caller // nil: anonymous (or a temporary URL)
	// owner: the caller works in the account's project (and the policy
	// let it do this); otherwise grant is what container ACLs allow.
	owner bool
	grant models.ContainerGrant
	// tempURL: a valid temporary URL authorised this request.
	tempURL *tempURL
}

// parsePath splits a path below Prefix into its level and parts. Paths are
// taken decoded, as Swift takes them: a container name cannot hold "/",
// an object name can.
func parsePath(p string) (lv level, account, container, object string, ok bool) {
	switch strings.TrimSuffix(p, "/") {
	case "/info":
		return levelInfo, "", "", "", true
	case "/auth/v1.0":
		return levelAuth, "", "", "", true
	}
	rest, found := strings.CutPrefix(p, "/v1/")
	if !found {
		return 0, "", "", "", false
	}
	account, rest, hasContainer := strings.Cut(rest, "/")
	if account == "" {
		return 0, "", "", "", false
	}
	if !hasContainer || rest == "" {
		return levelAccount, account, "", "", true
	}
	container, object, hasObject := strings.Cut(rest, "/")
	if !hasObject || object == "" {
		return levelContainer, account, container, "", true
	}
	return levelObject, account, container, object, true
}
