package compute

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"stratus/handlers/openstack/service"
)

// Version is a compute API microversion.
type Version struct{ Major, Minor int }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// The microversions Stratus speaks. MaxVersion is high enough for current
// clients (openstacksdk, novaclient, gophercloud) to negotiate what they
// use: --nic none/auto (2.37), embedded flavors (2.47), UUID hypervisor and
// service IDs (2.53), server group policy (2.64). Every answer whose shape
// changes up to it follows the asked version.
var (
	MinVersion = Version{2, 1}
	MaxVersion = Version{2, 79}
)

type ctxKey int

const versionKey ctxKey = iota

// versionOf is the request's negotiated microversion.
func versionOf(r *http.Request) Version {
	if v, ok := r.Context().Value(versionKey).(Version); ok {
		return v
	}
	return MinVersion
}

// microversion reads the asked microversion (OpenStack-API-Version:
// compute X.Y, or the older X-OpenStack-Nova-API-Version), refuses one out
// of range with 406, and says on the answer which version served it.
func (c *Compute) microversion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := ""
		for _, part := range strings.Split(r.Header.Get("OpenStack-API-Version"), ",") {
			if svc, ver, ok := strings.Cut(strings.TrimSpace(part), " "); ok && strings.EqualFold(svc, "compute") {
				raw = strings.TrimSpace(ver)
			}
		}
		if raw == "" {
			raw = strings.TrimSpace(r.Header.Get("X-OpenStack-Nova-API-Version"))
		}
		v := MinVersion
		if raw != "" {
			var err error
			if v, err = parseVersion(raw); err != nil {
				c.svc.WriteError(w, r, http.StatusBadRequest, err.Error())
				return
			}
			if !v.AtLeast(MinVersion.Major, MinVersion.Minor) || !MaxVersion.AtLeast(v.Major, v.Minor) {
				c.svc.WriteError(w, r, http.StatusNotAcceptable, fmt.Sprintf(
					"Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, MinVersion, MaxVersion))
				return
			}
		}
		h := w.Header()
		h.Set("OpenStack-API-Version", "compute "+v.String())
		h.Set("X-OpenStack-Nova-API-Version", v.String())
		h.Add("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey, v)))
	})
}

func parseVersion(s string) (Version, error) {
	if strings.EqualFold(s, "latest") {
		return MaxVersion, nil
	}
	maj, min, ok := strings.Cut(s, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return Version{}, fmt.Errorf("API Version String %s is of invalid format. must be of format MajorNum.MinorNum", s)
	}
	return Version{a, b}, nil
}

// needs refuses a request below the microversion a feature came with, as
// Nova answers (404 for a route that does not exist yet).
func needs(r *http.Request, major, minor int) error {
	if !versionOf(r).AtLeast(major, minor) {
		return service.NotFound(fmt.Sprintf("This needs microversion %d.%d or later.", major, minor))
	}
	return nil
}
