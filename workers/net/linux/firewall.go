package linux

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	hostnet "stratus/workers/net"
)

// applyFirewall writes the chains whose content changed since this driver
// last wrote them (all of them after a start: rewriting a chain is atomic
// and idempotent), removes Stratus' chains no port needs any more — all in
// one iptables-restore --noflush — and makes sure FORWARD jumps to
// stratus-FORWARD. Remote groups' ipsets are swapped in whole before.
func (d *Driver) applyFirewall(ctx context.Context, fw hostnet.Firewall, stats *hostnet.Stats) error {
	if err := d.applySets(ctx, fw.Sets, stats); err != nil {
		return err
	}
	// Listing the filter table costs time in proportion to its rules
	// (0.5 s for 15,000): the driver keeps the list of its chains as it
	// writes them, and lists them again after a start, a failure, or a
	// minute (a chain someone deleted is re-created then).
	if d.chains == nil || time.Since(d.listed) > time.Minute {
		listed, err := d.ourChains()
		if err != nil {
			return err
		}
		d.chains, d.listed = listed, time.Now()
	}
	existing := d.chains
	if len(fw.Chains[hostnet.ChainForward]) == 0 {
		// Nothing on this host any more: no chain, no jump to one.
		fw = hostnet.Firewall{Chains: map[string][]string{}, Sets: fw.Sets}
		if err := d.removeJump(); err != nil {
			return err
		}
	}
	var write, remove []string
	for _, c := range fw.Order {
		if h := fw.ChainHash(c); d.written[c] != h || !existing[c] {
			write = append(write, c)
		}
	}
	for c := range existing {
		if _, ok := fw.Chains[c]; !ok {
			remove = append(remove, c)
		}
	}
	sort.Strings(remove)
	if len(write) > 0 || len(remove) > 0 {
		if _, err := d.run(ctx, fw.RestoreInput(write, remove), "iptables-restore", "--noflush", "-w", "10"); err != nil {
			// What was written is unknown now: list and rewrite everything
			// next time.
			d.written, d.chains = map[string]string{}, nil
			return fmt.Errorf("write security group chains: %w", err)
		}
	}
	for _, c := range write {
		d.written[c], d.chains[c] = fw.ChainHash(c), true
	}
	for _, c := range remove {
		delete(d.written, c)
		delete(d.chains, c)
	}
	stats.ChainsWritten = len(write)
	if len(fw.Chains) > 0 {
		if err := d.ensureJump(); err != nil {
			return err
		}
	}
	return d.removeStaleSets(ctx, fw.Sets)
}

// ourChains lists the filter table's chains that are Stratus'.
func (d *Driver) ourChains() (map[string]bool, error) {
	out := map[string]bool{}
	err := d.inHostNS(func() error {
		ipt, err := iptablesV4()
		if err != nil {
			return err
		}
		chains, err := ipt.ListChains("filter")
		if err != nil {
			return err
		}
		for _, c := range chains {
			if strings.HasPrefix(c, hostnet.ChainPrefix) {
				out[c] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	return out, nil
}

// ensureJump inserts FORWARD's jump to stratus-FORWARD at the top, once.
func (d *Driver) ensureJump() error {
	return d.inHostNS(func() error {
		ipt, err := iptablesV4()
		if err != nil {
			return err
		}
		ok, err := ipt.Exists("filter", "FORWARD", hostnet.ForwardJump()...)
		if err != nil {
			return fmt.Errorf("check FORWARD jump: %w", err)
		}
		if ok {
			return nil
		}
		if err := ipt.Insert("filter", "FORWARD", 1, hostnet.ForwardJump()...); err != nil {
			return fmt.Errorf("insert FORWARD jump: %w", err)
		}
		return nil
	})
}

// removeJump deletes FORWARD's jump to stratus-FORWARD, if there.
func (d *Driver) removeJump() error {
	return d.inHostNS(func() error {
		ipt, err := iptablesV4()
		if err != nil {
			return err
		}
		// Without the chain there is no jump to it (and iptables-nft's
		// check of one would fail with "chain does not exist").
		if ok, err := ipt.ChainExists("filter", hostnet.ChainForward); err != nil || !ok {
			return err
		}
		if err := ipt.DeleteIfExists("filter", "FORWARD", hostnet.ForwardJump()...); err != nil {
			return fmt.Errorf("remove FORWARD jump: %w", err)
		}
		return nil
	})
}

// applySets writes each changed ipset as a whole: a new set filled, then
// swapped in (members never briefly missing), in one ipset restore.
func (d *Driver) applySets(ctx context.Context, sets map[string][]string, stats *hostnet.Stats) error {
	var b strings.Builder
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	var changed []string
	for _, name := range names {
		members := append([]string(nil), sets[name]...)
		sort.Strings(members)
		h := strings.Join(members, ",")
		if d.sets[name] == h && h != "" {
			continue
		}
		changed = append(changed, name)
		tmp := name + "-t"
		fmt.Fprintf(&b, "create %s hash:net family inet -exist\n", name)
		fmt.Fprintf(&b, "create %s hash:net family inet -exist\nflush %s\n", tmp, tmp)
		for _, m := range members {
			fmt.Fprintf(&b, "add %s %s -exist\n", tmp, m)
		}
		fmt.Fprintf(&b, "swap %s %s\ndestroy %s\n", tmp, name, tmp)
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := d.run(ctx, b.String(), "ipset", "restore"); err != nil {
		d.sets = map[string]string{}
		return fmt.Errorf("write remote group sets: %w", err)
	}
	for _, name := range changed {
		members := append([]string(nil), sets[name]...)
		sort.Strings(members)
		d.sets[name] = strings.Join(members, ",")
	}
	stats.SetsWritten = len(changed)
	return nil
}

// removeStaleSets destroys Stratus' ipsets no rule uses any more (after the
// chains that used them were rewritten).
func (d *Driver) removeStaleSets(ctx context.Context, sets map[string][]string) error {
	out, err := d.run(ctx, "", "ipset", "list", "-n")
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(out) {
		if !strings.HasPrefix(name, hostnet.ChainPrefix) {
			continue
		}
		if _, ok := sets[name]; ok {
			continue
		}
		if _, err := d.run(ctx, "", "ipset", "destroy", name); err != nil {
			return err
		}
		delete(d.sets, name)
	}
	return nil
}

// Save is the filter table's Stratus chains as iptables-save prints them
// (tests compare it before and after a restart).
func (d *Driver) Save(ctx context.Context) (string, error) {
	out, err := d.run(ctx, "", "iptables-save", "-t", "filter")
	if err != nil {
		return "", err
	}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "stratus") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n"), nil
}
