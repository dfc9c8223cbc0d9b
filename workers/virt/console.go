package virt

import "context"

// Consoles is what a driver that gives guests consoles offers besides
// Driver: where the serial console is logged, and where the graphical (VNC)
// console of a running domain listens. The agent records both so the API
// servers can serve them without reaching into the host.
type Consoles interface {
	// ConsoleLogPath is the file the domain's serial console is logged to
	// on this host ("" when there is none).
	ConsoleLogPath(id string) string
	// VNC is the address and port the running domain's VNC server listens
	// on; ErrNotFound when the domain is not running.
	VNC(ctx context.Context, id string) (host string, port int, err error)
}
