package linux

// Gratuitous ARP, after Neutron's L3 agent (send_ip_addr_adv_notif:
// `arping -U -c 3`). When an address appears on a router's leg — the router
// made anew on this host after the conductor moved it, a floating IP
// associated, a gateway set — the leg announces it, so that the upstream
// router and the guests replace a neighbour entry still pointing at the MAC
// that answered for the address before (Linux takes a broadcast request
// whose sender and target are the same address as an update of an entry it
// has, even with arp_accept=0), and the switches learn where the MAC is now.
// Without it they would wait for their entries to age out.

import (
	"context"
	"encoding/binary"
	stdnet "net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const (
	garpCount    = 3
	garpInterval = time.Second // arping's, and so Neutron's
)

// announcing is one router's bursts in flight.
type announcing struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// announce sends garpCount gratuitous ARPs for addrs (the IPv4 ones) from
// dev, a leg in the router's namespace ns. The socket is opened here; the
// burst runs on a goroutine of its own, so that the apply does not wait,
// until done, Close, or the router's namespace goes (stopAnnouncing). A
// failure is logged: the addresses are on the leg, and answer ARP anyway.
func (d *Driver) announce(routerID string, ns netns.NsHandle, inner *netlink.Handle, dev netlink.Link, addrs []netip.Addr) {
	var v4 []netip.Addr
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a)
		}
	}
	if len(v4) == 0 || d.stop.Err() != nil {
		return
	}
	name := dev.Attrs().Name
	// Read afresh: the MAC may have been set since dev was read.
	l, err := inner.LinkByIndex(dev.Attrs().Index)
	if err != nil {
		d.log.Warn("gratuitous ARP not sent", "router", routerID, "device", name, "error", err)
		return
	}
	mac := l.Attrs().HardwareAddr
	if len(mac) != 6 {
		d.log.Warn("gratuitous ARP not sent: not an Ethernet device", "router", routerID, "device", name, "mac", mac.String())
		return
	}
	fd, err := packetSocketIn(ns)
	if err != nil {
		d.log.Warn("gratuitous ARP not sent", "router", routerID, "device", name, "error", err)
		return
	}
	frames := make([][]byte, len(v4))
	for i, a := range v4 {
		frames[i] = garpFrame(mac, a)
	}
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: l.Attrs().Index, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	ctx := d.routerAnnouncing(routerID)
	d.log.Info("gratuitous ARP", "router", routerID, "device", name, "addresses", v4)
	d.bursts.Add(1)
	go func() {
		defer d.bursts.Done()
		defer unix.Close(fd)
		if err := waitRunning(ctx, fd, name); err != nil {
			d.log.Debug("gratuitous ARP stopped", "router", routerID, "device", name, "error", err)
			return
		}
		for i := range garpCount {
			if i > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(garpInterval):
				}
			}
			for _, f := range frames {
				if err := unix.Sendto(fd, f, 0, to); err != nil {
					// The leg or the namespace went meanwhile.
					d.log.Debug("gratuitous ARP stopped", "router", routerID, "device", name, "error", err)
					return
				}
			}
		}
	}()
}

// packetSocketIn opens a packet socket in namespace ns (a socket stays in
// the namespace it was made in). It switches namespace on a goroutine of
// its own: should switching back fail, inNS leaves the thread locked, and
// Go ends the thread with the goroutine rather than let it serve others in
// the router's namespace.
func packetSocketIn(ns netns.NsHandle) (int, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		fd := -1
		err := inNS(ns, func() error {
			// Protocol 0: the socket receives nothing, it only sends.
			s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				fd = s
			}
			return err
		})
		done <- result{fd, err}
	}()
	r := <-done
	if r.err != nil {
		if r.fd >= 0 {
			_ = unix.Close(r.fd)
		}
		return -1, r.err
	}
	return r.fd, nil
}

// waitRunning waits, up to garpInterval, for the device to be running: a
// leg made a moment ago drops what it sends until the kernel has seen its
// carrier (a few milliseconds), and the first of the burst would be lost.
// fd is a socket in the device's namespace.
func waitRunning(ctx context.Context, fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(garpInterval)
	for {
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		if ifr.Uint16()&unix.IFF_RUNNING != 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// routerAnnouncing is the context of a router's bursts. d.mu is held.
func (d *Driver) routerAnnouncing(routerID string) context.Context {
	a, ok := d.announcing[routerID]
	if !ok {
		a.ctx, a.cancel = context.WithCancel(d.stop)
		d.announcing[routerID] = a
	}
	return a.ctx
}

// stopAnnouncing stops a router's bursts, whose sockets would keep its
// namespace alive until done. d.mu is held.
func (d *Driver) stopAnnouncing(routerID string) {
	if a, ok := d.announcing[routerID]; ok {
		a.cancel()
		delete(d.announcing, routerID)
	}
}

// garpFrame is a broadcast ARP request from mac whose sender and target
// are both ip, padded to Ethernet's minimum (a NIC pads, a veth does not).
func garpFrame(mac stdnet.HardwareAddr, ip netip.Addr) []byte {
	a := ip.As4()
	f := make([]byte, 0, 60)
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	f = append(f, mac...)
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_ARP)
	f = binary.BigEndian.AppendUint16(f, 1) // hardware: Ethernet
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IP)
	f = append(f, 6, 4)
	f = binary.BigEndian.AppendUint16(f, 1) // request
	f = append(f, mac...)
	f = append(f, a[:]...)
	f = append(f, 0, 0, 0, 0, 0, 0) // target MAC: unknown (RFC 5227)
	f = append(f, a[:]...)
	return f[:60]
}

// htons puts v in network byte order, as sockaddr_ll wants its protocol.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
