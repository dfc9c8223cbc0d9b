package object

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"stratus/models"
)

// bulkResult is the outcome of a bulk delete (or of deleting a large
// object with its segments), in Swift's bulk middleware's terms.
type bulkResult struct {
	deleted, notFound int
	errors            [][2]string // path, status
	bad               string      // why the request itself was refused
}

// record counts one deletion's outcome.
func (b *bulkResult) record(path string, err error) {
	switch {
	case err == nil:
		b.deleted++
	case errors.Is(err, models.ErrNotFound):
		b.notFound++
	default:
		st, _ := status(err)
		b.errors = append(b.errors, [2]string{path, fmt.Sprintf("%d %s", st, http.StatusText(st))})
	}
}

func (b bulkResult) responseStatus() string {
	switch {
	case b.bad != "":
		return "400 Bad Request"
	case len(b.errors) > 0:
		// Swift reports the first error's kind for the whole request.
		if strings.HasPrefix(b.errors[0][1], "409") {
			return "409 Conflict"
		}
		return "400 Bad Request"
	}
	return "200 OK"
}

// writeBulk answers in the format the client accepts (JSON, XML or plain
// text), always with HTTP 200 — the real outcome is "Response Status".
func (a *API) writeBulk(w http.ResponseWriter, r *http.Request, b bulkResult) {
	errs := b.errors
	if errs == nil {
		errs = [][2]string{}
	}
	var body []byte
	switch listingFormat(r) {
	case "json":
		body, _ = json.Marshal(map[string]any{
			"Number Deleted": b.deleted, "Number Not Found": b.notFound, "Response Status": b.responseStatus(),
			"Response Body": b.bad, "Errors": errs,
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	case "xml":
		var sb strings.Builder
		sb.WriteString(xml.Header + "<delete>")
		fmt.Fprintf(&sb, "<number_deleted>%d</number_deleted><number_not_found>%d</number_not_found>", b.deleted, b.notFound)
		fmt.Fprintf(&sb, "<response_status>%s</response_status><response_body>%s</response_body><errors>",
			b.responseStatus(), xmlText(b.bad))
		for _, e := range errs {
			fmt.Fprintf(&sb, "<object><name>%s</name><status>%s</status></object>", xmlText(e[0]), e[1])
		}
		sb.WriteString("</errors></delete>")
		body = []byte(sb.String())
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	default:
		var sb strings.Builder
		fmt.Fprintf(&sb, "Number Deleted: %d\nNumber Not Found: %d\nResponse Body: %s\nResponse Status: %s\nErrors:\n",
			b.deleted, b.notFound, b.bad, b.responseStatus())
		for _, e := range errs {
			fmt.Fprintf(&sb, "%s, %s\n", e[0], e[1])
		}
		body = []byte(sb.String())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// maxBulkLine bounds one line of a bulk delete: a quoted container and
// object name, every byte escaped.
const maxBulkLine = 3 * (models.MaxContainerNameBytes + models.MaxObjectNameBytes + 2)

// bulkDelete is POST (or DELETE) /v1/AUTH_<project>?bulk-delete: the body
// lists up to 10,000 URL-encoded paths, "/container/object" or
// "/container", one a line; objects and empty containers are deleted.
func (a *API) bulkDelete(w http.ResponseWriter, r *http.Request, q *request) {
	var paths []string
	sc := bufio.NewScanner(io.LimitReader(r.Body, int64(models.MaxBulkDeletes+1)*maxBulkLine))
	sc.Buffer(make([]byte, 0, 4096), maxBulkLine)
	var res bulkResult
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if len(paths) == models.MaxBulkDeletes {
			res.bad = fmt.Sprintf("Max delete failures exceeded: at most %d paths per request", models.MaxBulkDeletes)
			break
		}
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil && res.bad == "" {
		res.bad = "Invalid bulk delete: " + err.Error()
	}
	if res.bad != "" {
		a.writeBulk(w, r, res)
		return
	}
	for _, raw := range paths {
		p, err := url.PathUnescape(raw)
		if err != nil {
			res.errors = append(res.errors, [2]string{raw, "400 Bad Request"})
			continue
		}
		c, o, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if c == "" {
			res.errors = append(res.errors, [2]string{raw, "400 Bad Request"})
			continue
		}
		if o == "" {
			res.record(p, a.Store.DeleteContainer(r.Context(), q.project, c))
			continue
		}
		_, err = a.Store.DeleteObject(r.Context(), q.project, c, o)
		res.record(p, err)
	}
	a.writeBulk(w, r, res)
}
