package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"stratus/handlers"
	"stratus/models"
)

// errUsage means the flags were wrong and the usage was already printed.
var errUsage = errors.New("usage")

// envName is the environment variable that sets a flag: --log-format is
// STRATUS_LOG_FORMAT.
func envName(flagName string) string {
	return "STRATUS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable. Flags win over the environment.
func parseFlags(fs *flag.FlagSet, summary string, args []string) error {
	_, err := parseFlagsFrom(fs, summary, args)
	return err
}

// flagOrigins are the flags whose value came from the environment.
type flagOrigins map[string]bool

// of names where a flag's value came from, for start-up messages: its
// environment variable (STRATUS_VIRT_TYPE) when that set it, else the flag
// (--virt-type, given or its default).
func (o flagOrigins) of(name string) string {
	if o[name] {
		return envName(name)
	}
	return "--" + name
}

// parseFlagsFrom is parseFlags, and says which flags the environment set.
func parseFlagsFrom(fs *flag.FlagSet, summary string, args []string) (flagOrigins, error) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: stratus %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", fs.Name(), summary)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return nil, errUsage
	}
	given, fromEnv := map[string]bool{}, flagOrigins{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
			fromEnv[f.Name] = true
		}
	})
	return fromEnv, err
}

// dbFlags locate the database and the data directory.
type dbFlags struct {
	DB      string
	DataDir string
}

func (f *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.DataDir, "data-dir", "./data", "directory for the SQLite database, images and other state")
	fs.StringVar(&f.DB, "db", "", "database: sqlite://PATH, mysql://user:pass@host:3306/db, or a MySQL DSN (default sqlite://DATA-DIR/stratus.db)")
}

func (f *dbFlags) dsn() string {
	if f.DB != "" {
		return f.DB
	}
	return "sqlite://" + filepath.Join(f.DataDir, "stratus.db")
}

// identityFlags are the login and password rules, and where images are
// stored.
type identityFlags struct {
	opts     models.Options
	imageDir string
}

// options are the store settings; data is the --data-dir the image store
// defaults into.
func (f *identityFlags) options(db dbFlags) models.Options {
	o := f.opts
	o.ImageDir = f.imageDir
	if o.ImageDir == "" {
		o.ImageDir = filepath.Join(db.DataDir, "images")
	}
	return o
}

func (f *identityFlags) register(fs *flag.FlagSet) {
	f.opts = models.DefaultOptions()
	fs.StringVar(&f.imageDir, "image-dir", "", "image store directory (default DATA-DIR/images)")
	fs.Int64Var(&f.opts.MaxImageBytes, "max-image-bytes", f.opts.MaxImageBytes, "largest image upload accepted, in bytes")
	fs.IntVar(&f.opts.BcryptCost, "bcrypt-cost", f.opts.BcryptCost, "bcrypt cost of password hashes (4–31)")
	fs.IntVar(&f.opts.MinPasswordLength, "min-password-length", f.opts.MinPasswordLength, "shortest password accepted")
	fs.IntVar(&f.opts.LockoutThreshold, "lockout-threshold", f.opts.LockoutThreshold, "failed logins in a row that lock an account")
	fs.DurationVar(&f.opts.LockoutDuration, "lockout-duration", f.opts.LockoutDuration, "how long a locked account stays locked")
	fs.DurationVar(&f.opts.TokenTTL, "token-ttl", f.opts.TokenTTL, "lifetime of API login tokens")
}

func (f *identityFlags) validate() error {
	o := f.opts
	switch {
	case o.BcryptCost < 4 || o.BcryptCost > 31:
		return fmt.Errorf("--bcrypt-cost must be 4–31")
	case o.MinPasswordLength < 8:
		return fmt.Errorf("--min-password-length must be at least 8")
	case o.LockoutThreshold < 1:
		return fmt.Errorf("--lockout-threshold must be at least 1 (lockout is always on)")
	case o.LockoutDuration < time.Minute:
		return fmt.Errorf("--lockout-duration must be at least 1m")
	case o.MaxImageBytes < 1<<20:
		return fmt.Errorf("--max-image-bytes must be at least 1 MiB")
	}
	return nil
}

// httpFlags configure the HTTP server.
type httpFlags struct {
	Listen     string
	PolicyFile string
	TLSCert    string
	TLSKey     string
	cfg        handlers.Config
}

func (f *httpFlags) register(fs *flag.FlagSet) {
	f.cfg = handlers.DefaultConfig()
	fs.StringVar(&f.Listen, "listen", "127.0.0.1:8080", "address the web UI and API listen on")
	fs.StringVar(&f.PolicyFile, "policy-file", "", "JSON file overriding policy rules ({\"action\": \"rule\"})")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fs.StringVar(&f.TLSKey, "tls-key", "", "private key for --tls-cert (PEM)")
	fs.StringVar(&f.cfg.PublicURL, "public-url", "", "URL clients reach Stratus at (https://cloud.example.com), for the OpenStack catalog; default: each request's own scheme and host")
	fs.BoolVar(&f.cfg.SecureCookies, "secure-cookies", false, "mark cookies Secure (implied by --tls-cert; set it behind a TLS proxy)")
	fs.DurationVar(&f.cfg.SessionIdle, "session-idle-timeout", f.cfg.SessionIdle, "web sessions end after this long without a request")
	fs.DurationVar(&f.cfg.SessionLifetime, "session-lifetime", f.cfg.SessionLifetime, "web sessions end this long after login, active or not")
}

// validate refuses a --public-url clients could not use: it must be an
// absolute http(s) URL without a query or fragment.
func (f *httpFlags) validate() error {
	if f.cfg.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(f.cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url must be an http(s) URL such as https://cloud.example.com, not %q", f.cfg.PublicURL)
	}
	return nil
}

func (f *httpFlags) config() handlers.Config {
	c := f.cfg
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if f.TLSCert != "" {
		c.SecureCookies = true
	}
	return c
}

// logFlags choose the log format and level.
type logFlags struct {
	Format string
	Level  string
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Format, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.Level, "log-level", "info", "log level: debug, info, warn or error")
}
