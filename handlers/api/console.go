package api

import (
	"net/http"
	"net/url"
	"time"

	"stratus/models"
)

// ConsoleLog is the tail of an instance's serial console, as its host last
// recorded it (Nova's os-getConsoleOutput).
type ConsoleLog struct {
	Output string `json:"output"`
}

// RemoteConsole opens an instance's graphical console: a noVNC client
// connects its websocket to URL. The token in it works once, within
// minutes, for the user who asked.
type RemoteConsole struct {
	Protocol  string    `json:"protocol"` // vnc
	Type      string    `json:"type"`     // novnc
	URL       string    `json:"url"`      // the websocket path: /console/vnc?token=…
	ExpiresAt time.Time `json:"expires_at"`
}

// consoleLog is GET /instances/{id}/console-log?lines=N.
func (a *API) consoleLog(r *http.Request, c models.Caller, in struct {
	idPath
	Lines int `query:"lines" min:"0" max:"10000" doc:"Only the last N lines (default: all that is kept, up to 64 KiB)."`
}) (ConsoleLog, error) {
	out, err := a.Store.ConsoleLog(r.Context(), c, in.ID, in.Lines)
	if err != nil {
		return ConsoleLog{}, err
	}
	return ConsoleLog{Output: out}, nil
}

// RemoteConsoleRequest asks for a console, as Nova's remote-consoles does.
type RemoteConsoleRequest struct {
	Protocol string `json:"protocol"` // vnc (the default)
	Type     string `json:"type"`     // novnc (the default)
}

// createRemoteConsole is POST /instances/{id}/remote-console: a single-use
// VNC console token bound to the instance and the caller (409 when the
// instance is not running).
func (a *API) createRemoteConsole(r *http.Request, c models.Caller, in struct {
	idPath
	Body RemoteConsoleRequest `body:"json"`
}) (RemoteConsole, error) {
	p := models.Problems{}
	if in.Body.Protocol != "" && in.Body.Protocol != "vnc" {
		p.Add("protocol", "must be vnc")
	}
	if in.Body.Type != "" && in.Body.Type != models.ConsoleNoVNC {
		p.Add("type", "must be novnc")
	}
	if err := p.Err(); err != nil {
		return RemoteConsole{}, err
	}
	t, err := a.Store.CreateConsoleToken(r.Context(), c, in.ID)
	if err != nil {
		return RemoteConsole{}, err
	}
	return RemoteConsole{Protocol: "vnc", Type: models.ConsoleNoVNC, URL: "/console/vnc?token=" + url.QueryEscape(t.Token),
		ExpiresAt: t.ExpiresAt}, nil
}
