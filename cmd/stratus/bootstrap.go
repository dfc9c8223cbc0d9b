package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"stratus/models"
)

// bootstrapFlags name the first operator (and, for dev, the demo tenant).
type bootstrapFlags struct {
	in models.BootstrapInput
}

func (f *bootstrapFlags) register(fs *flag.FlagSet, demo bool) {
	fs.StringVar(&f.in.AdminName, "admin-user", "admin", "name of the first system admin")
	fs.StringVar(&f.in.AdminPassword, "admin-password", "", "password of the first admin (generated and printed once when empty)")
	fs.StringVar(&f.in.AdminProject, "admin-project", "admin", "project the first admin gets the admin role on")
	if demo {
		fs.StringVar(&f.in.DemoProject, "demo-project", "demo", "demo tenant project (empty: none)")
		fs.StringVar(&f.in.DemoUser, "demo-user", "demo", "member user of the demo project")
		fs.StringVar(&f.in.DemoPassword, "demo-password", "", "password of the demo user (generated and printed once when empty)")
		fs.StringVar(&f.in.DemoNetwork, "demo-network", "demo-net", "network the demo project gets, with one subnet, when it has none (empty: none)")
		fs.StringVar(&f.in.DemoCIDR, "demo-cidr", "10.0.0.0/24", "CIDR of the demo network's subnet")
		fs.StringVar(&f.in.ExternalNetwork, "external-network", "public", "external network (router:external) made when none of that name exists, for routers' gateways and floating IPs (empty: none)")
		fs.StringVar(&f.in.ExternalCIDR, "external-cidr", "203.0.113.0/24", "CIDR of the external network: .1 is the outside's gateway, .10–.250 the floating range")
		fs.StringVar(&f.in.DemoRouter, "demo-router", "demo-router", "router the demo project gets from its network to the external network, when it has none (empty: none)")
	}
}

func runBootstrap(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	var db dbFlags
	var id identityFlags
	var logf logFlags
	var bf bootstrapFlags
	db.register(fs)
	id.register(fs)
	logf.register(fs)
	bf.register(fs, false)
	if err := parseFlags(fs, "Create the first system admin and their project. Does nothing if the admin exists.", args); err != nil {
		return err
	}
	if err := id.validate(); err != nil {
		return err
	}
	store, err := openMigrated(ctx, db, id.options(db), &logf)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.Bootstrap(ctx, bf.in)
	if err != nil {
		return err
	}
	printLogins(stdout, bf.in, res)
	return nil
}

// printLogins says who can log in. A generated password is printed this
// once and never again; a later start only names the user.
func printLogins(w io.Writer, in models.BootstrapInput, res models.BootstrapResult) {
	line := func(role, user string, created bool, pw string, generated bool) {
		switch {
		case created && generated:
			fmt.Fprintf(w, "  %-6s login: %s / %s   (generated now and shown only this once)\n", role, user, pw)
		case created:
			fmt.Fprintf(w, "  %-6s login: %s / (the password you set)\n", role, user)
		default:
			fmt.Fprintf(w, "  %-6s login: %s   (exists already; its password was shown when it was created)\n", role, user)
		}
	}
	line("admin", in.AdminName, res.AdminCreated, res.AdminPassword, res.AdminPasswordGenerated)
	if in.DemoProject != "" {
		line("demo", in.DemoUser, res.DemoCreated, res.DemoPassword, res.DemoPasswordGenerated)
	}
}
