package object

import (
	"encoding/json"
	"net/http"
	"strconv"

	"stratus/models"
)

// info is GET /object-storage/info: the cluster's capabilities and limits,
// in Swift's /info shape (clients read the single-object limit, the SLO
// and bulk delete limits, and the temporary URL digests here).
func (a *API) info(w http.ResponseWriter, r *http.Request, _ *request) {
	doc := map[string]any{
		"swift": map[string]any{
			"version":                   "stratus",
			"max_file_size":             a.Store.Options().MaxObjectBytes,
			"max_meta_name_length":      models.MaxMetaNameLength,
			"max_meta_value_length":     models.MaxMetaValueLength,
			"max_meta_count":            models.MaxMetaCount,
			"max_meta_overall_size":     models.MaxMetaOverallSize,
			"max_header_size":           8192,
			"max_object_name_length":    models.MaxObjectNameBytes,
			"max_container_name_length": models.MaxContainerNameBytes,
			"max_account_name_length":   256,
			"container_listing_limit":   models.MaxListingLimit,
			"account_listing_limit":     models.MaxListingLimit,
			"extra_header_count":        0,
			"strict_cors_mode":          true,
			"allow_account_management":  false,
			"account_autocreate":        true,
			"policies":                  []map[string]any{{"name": storagePolicy, "default": true}},
		},
		"slo": map[string]any{
			"max_manifest_segments": models.MaxManifestSegments,
			"max_manifest_size":     models.MaxManifestBytes,
			"min_segment_size":      1,
			"yield_frequency":       10,
			"allow_async_delete":    false,
		},
		"dlo":              map[string]any{"max_segments": models.MaxListingLimit},
		"bulk_delete":      map[string]any{"max_deletes_per_request": models.MaxBulkDeletes, "max_failed_deletes": models.MaxBulkDeletes},
		"account_quotas":   map[string]any{},
		"container_quotas": map[string]any{},
		"tempurl": map[string]any{
			"methods":                 tempURLMethods,
			"allowed_digests":         []string{"sha1", "sha256", "sha512"},
			"incoming_remove_headers": []string{"x-timestamp"},
			"outgoing_remove_headers": []string{"x-object-meta-*"},
		},
	}
	b, _ := json.Marshal(doc) // maps of plain values always encode
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
