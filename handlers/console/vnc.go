// Package console is the websocket proxy that carries a browser's noVNC
// (or any RFB-over-websocket client) to the VNC server of an instance on its
// compute host, like Nova's novncproxy. A client opens
// /console/vnc?token=… with a token from POST
// /api/v1/instances/{id}/remote-console; the token works once, within
// minutes, and only for the user it was issued to, who must be logged in
// (web session) or present an API token on the websocket request.
package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coder/websocket"

	"stratus/handlers/httpx"
	"stratus/models"
)

// Deps are the proxy's dependencies.
type Deps struct {
	Store    *models.Store
	Sessions *scs.SessionManager // the web UI's sessions (cookie auth for noVNC)
	// SessionCaller resolves the web session's caller (web.Web's); nil:
	// only API bearer tokens authenticate.
	SessionCaller func(*http.Request) (models.Caller, error)
	Log           *slog.Logger
	// DialTimeout bounds the connection to the host's VNC server (default 5 s).
	DialTimeout time.Duration
}

// Proxy serves /console/vnc.
type Proxy struct {
	Deps
}

// New builds the proxy; mount it with Sessions.LoadAndSave around it when
// the web UI's sessions should authenticate.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.DialTimeout <= 0 {
		d.DialTimeout = 5 * time.Second
	}
	p := &Proxy{Deps: d}
	if d.Sessions != nil {
		return d.Sessions.LoadAndSave(p)
	}
	return p
}

// caller authenticates the websocket request: an API bearer token, else the
// web session.
func (p *Proxy) caller(r *http.Request) (models.Caller, error) {
	if secret, given, ok := httpx.BearerToken(r); given {
		if !ok {
			return models.Caller{}, models.ErrUnauthenticated
		}
		return p.Store.AuthenticateToken(r.Context(), secret)
	}
	if p.SessionCaller == nil {
		return models.Caller{}, models.ErrUnauthenticated
	}
	return p.SessionCaller(r)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := p.Log.With("request_id", httpx.RequestID(r))
	w.Header().Set("Cache-Control", "no-store")
	c, err := p.caller(r)
	if err != nil {
		if !errors.Is(err, models.ErrUnauthenticated) {
			log.Error("console proxy: authenticate", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Error(w, "log in to open a console", http.StatusUnauthorized)
		return
	}
	// Spending the token before the upgrade: a token is good for one
	// connection attempt, whatever becomes of it.
	target, err := p.Store.UseConsoleToken(r.Context(), c, r.URL.Query().Get("token"))
	if err != nil {
		if !errors.Is(err, models.ErrUnauthenticated) {
			log.Error("console proxy: use token", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		log.Warn("console proxy: token refused (unknown, used, expired, or another user's)", "user", c.UserName)
		http.Error(w, "this console link is invalid or has expired: open the console again", http.StatusForbidden)
		return
	}
	addr := net.JoinHostPort(target.Host, strconv.Itoa(target.Port))
	vnc, err := net.DialTimeout("tcp", addr, p.DialTimeout)
	if err != nil {
		log.Warn("console proxy: VNC server unreachable", "instance", target.InstanceID, "addr", addr, "err", err)
		http.Error(w, "the instance's console is unreachable", http.StatusBadGateway)
		return
	}
	defer vnc.Close()
	// Accept checks that the Origin is this host's: a page of another site
	// cannot open a console with the user's cookie.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		log.Warn("console proxy: websocket upgrade", "err", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	log.Info("console opened", "instance", target.InstanceID, "user", c.UserName, "vnc", addr)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	client := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(vnc, client); cancel(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, vnc); cancel(); done <- struct{}{} }()
	<-done
	_ = vnc.Close()
	ws.Close(websocket.StatusNormalClosure, "console closed")
	log.Info("console closed", "instance", target.InstanceID, "user", c.UserName)
}
