package compute

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"stratus/models"
	"stratus/workers/virt"
)

// The agent publishes each instance's consoles in the database, because the
// API servers that show them run elsewhere: where the domain's VNC server
// listens (after every start, and on lifecycle events), and the tail of its
// serial console log (whenever the file changes).

// recordConsole records where a domain's VNC server listens now (nowhere
// when it is off).
func (a *Agent) recordConsole(ctx context.Context, id string) {
	cons, ok := a.cfg.Driver.(virt.Consoles)
	if !ok {
		return
	}
	host, port, err := cons.VNC(ctx, id)
	if err != nil {
		host, port = "", 0
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = a.cfg.Address
	}
	if err := a.cfg.Store.SetConsoleVNC(ctx, id, a.cfg.Host, host, port); err != nil {
		a.log.Warn("record VNC console", "instance", id, "err", err)
	}
}

// logState is what the console log shipper last saw of a log file.
type logState struct {
	size  int64
	mtime time.Time
}

// shipConsoleLogs stores the tail of every changed console log of this
// host's instances. It runs every couple of seconds on every host, so it
// touches the database only for a log that changed: the instances are the
// agent's own list (refreshed by each power sync, kept by spawns and
// deletes), and a log's size and modification time say whether it changed.
func (a *Agent) shipConsoleLogs(ctx context.Context) error {
	cons, ok := a.cfg.Driver.(virt.Consoles)
	if !ok {
		return nil
	}
	a.mu.Lock()
	ids := make([]string, 0, len(a.local))
	for id := range a.local {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	seen := make(map[string]logState, len(ids))
	for _, id := range ids {
		path := cons.ConsoleLogPath(id)
		if path == "" {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		st := logState{size: fi.Size(), mtime: fi.ModTime()}
		seen[id] = st
		if prev, ok := a.logs[id]; ok && prev == st {
			continue
		}
		tail, err := readLogTail(path, models.MaxConsoleLogBytes)
		if err != nil {
			a.log.Warn("read console log", "instance", id, "err", err)
			continue
		}
		if err := a.cfg.Store.SaveConsoleLog(ctx, id, a.cfg.Host, tail); err != nil {
			delete(seen, id) // try again next time
			a.log.Warn("save console log", "instance", id, "err", err)
		}
	}
	a.logs = seen
	return nil
}

// readLogTail reads the last n bytes of a console log that virtlogd
// rotates (console.log.0 holds what came before console.log).
func readLogTail(path string, n int64) ([]byte, error) {
	tail, err := readTail(path, n)
	if err != nil || int64(len(tail)) >= n {
		return tail, err
	}
	prev, err := readTail(path+".0", n-int64(len(tail)))
	if err != nil {
		return tail, nil // not rotated yet
	}
	return append(prev, tail...), nil
}

// readTail reads the last n bytes of a file.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}
