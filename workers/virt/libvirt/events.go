package libvirt

import (
	"context"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"stratus/workers/virt"
)

// Events streams the lifecycle events of our domains until ctx ends. It
// resubscribes after libvirtd restarts and then reports every domain's
// state, since events sent while it was away are lost.
func (d *Driver) Events(ctx context.Context) (<-chan virt.Event, error) {
	out := make(chan virt.Event, 256)
	go func() {
		defer close(out)
		first := true
		for ctx.Err() == nil {
			l, _, err := d.client.Conn(ctx)
			if err != nil {
				return
			}
			sub, cancel := context.WithCancel(ctx)
			in, err := l.LifecycleEvents(sub)
			if err != nil {
				cancel()
				d.log.Warn("subscribe to libvirt lifecycle events", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			if !first {
				d.resync(ctx, out)
			}
			first = false
			for ev := range in {
				if e, ok := d.translate(ctx, ev); ok {
					select {
					case out <- e:
					case <-ctx.Done():
					}
				}
			}
			cancel()
			// The channel closes when the connection drops: wait for
			// Conn to hand out the next one.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out, nil
}

// resync reports the state of every domain we own after a reconnection.
func (d *Driver) resync(ctx context.Context, out chan<- virt.Event) {
	doms, err := d.List(ctx)
	if err != nil {
		d.log.Warn("list domains after reconnecting to libvirtd", "err", err)
		return
	}
	for _, dom := range doms {
		select {
		case out <- virt.Event{ID: dom.ID, State: dom.State, Reason: "state after libvirtd reconnected"}:
		case <-ctx.Done():
			return
		}
	}
}

// translate turns a libvirt lifecycle event of one of our domains into a
// power state change; events of other domains, and those that change no
// power state (defined, undefined, shutting down), are dropped.
func (d *Driver) translate(ctx context.Context, ev golibvirt.DomainEventLifecycleMsg) (virt.Event, bool) {
	if !strings.HasPrefix(ev.Dom.Name, NamePrefix) {
		return virt.Event{}, false
	}
	st, reason, ok := EventState(golibvirt.DomainEventType(ev.Event), ev.Detail)
	if !ok {
		return virt.Event{}, false
	}
	d.mu.Lock()
	known := d.owned[ev.Dom.Name]
	d.mu.Unlock()
	id := strings.TrimPrefix(ev.Dom.Name, NamePrefix)
	if !known {
		m, mine, err := d.owns(ctx, ev.Dom)
		if err != nil || !mine || (m.Host != "" && m.Host != d.cfg.Host) {
			return virt.Event{}, false
		}
		id = m.InstanceID
		d.mu.Lock()
		d.owned[ev.Dom.Name] = true
		d.mu.Unlock()
	}
	return virt.Event{ID: id, State: st, Reason: reason}, true
}

// EventState maps a lifecycle event to the power state it leaves the domain
// in, with a reason a person can read in the action log.
func EventState(event golibvirt.DomainEventType, detail int32) (virt.PowerState, string, bool) {
	switch event {
	case golibvirt.DomainEventStarted:
		return virt.Running, "started", true
	case golibvirt.DomainEventResumed:
		return virt.Running, "resumed", true
	case golibvirt.DomainEventSuspended:
		return virt.Paused, "paused", true
	case golibvirt.DomainEventPmsuspended:
		return virt.Suspended, "suspended by the guest", true
	case golibvirt.DomainEventCrashed:
		return virt.Crashed, "the guest crashed", true
	case golibvirt.DomainEventStopped:
		switch golibvirt.DomainEventStoppedDetailType(detail) {
		case golibvirt.DomainEventStoppedShutdown:
			return virt.Shutdown, "stopped: the guest shut down", true
		case golibvirt.DomainEventStoppedDestroyed:
			return virt.Shutdown, "stopped: destroyed outside Stratus or forced off", true
		case golibvirt.DomainEventStoppedCrashed:
			return virt.Crashed, "stopped: the guest crashed", true
		case golibvirt.DomainEventStoppedFailed:
			return virt.Shutdown, "stopped: qemu failed", true
		case golibvirt.DomainEventStoppedSaved:
			return virt.Suspended, "suspended: memory saved to disk", true
		}
		return virt.Shutdown, "stopped", true
	}
	return "", "", false
}
