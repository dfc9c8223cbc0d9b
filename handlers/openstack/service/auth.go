package service

import (
	"errors"
	"net/http"

	"stratus/handlers/httpx"
	"stratus/models"
)

// authenticate resolves X-Auth-Token (Keystone's header; a Bearer token is
// accepted too) to the caller. The tokens are Stratus' own API tokens, so
// revocation, expiry and audit are the same everywhere. A missing or bad
// token leaves the request anonymous: the route's policy then refuses it
// with 401 unless it is public. The token itself is never logged.
func (s *Service) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := r.Header.Get("X-Auth-Token")
		if secret == "" {
			if b, given, ok := httpx.BearerToken(r); given && ok {
				secret = b
			}
		}
		if secret == "" {
			next.ServeHTTP(w, r)
			return
		}
		c, err := s.Store.AuthenticateToken(r.Context(), secret)
		switch {
		case errors.Is(err, models.ErrUnauthenticated):
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.Fail(w, r, err)
			return
		}
		c.RemoteAddr, c.RequestID = httpx.RemoteHost(r), httpx.RequestID(r)
		next.ServeHTTP(w, r.WithContext(httpx.WithCaller(r.Context(), c)))
	})
}
