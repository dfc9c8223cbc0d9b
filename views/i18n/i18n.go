// Package i18n owns the web console's languages: the message catalogues
// (locales/*.json, one file a language, keyed by the English text), the
// choice of a request's language (the user's setting, else the browser's
// Accept-Language, else English), and formatting that differs between
// languages (numbers, sizes, dates, "2 minutes ago").
//
// Views and handlers translate with T(ctx, "English text", args...): the
// English text is the key, so a page reads as it renders in English, and
// a string missing from a catalogue shows in English rather than not at
// all (the catalogue test in this package fails on it, though). Adding a
// language is adding locales/<tag>.json with every key of ko.json.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

//go:embed locales/*.json
var localeFiles embed.FS

// Catalogue is every language's messages, loaded once and read-only after.
type Catalogue struct {
	tags     []language.Tag                     // English first, then the files' languages in name order
	plain    map[language.Tag]map[string]string // key → text, for the messages without plural forms
	builder  *catalog.Builder
	matcher  language.Matcher
	locales  map[language.Tag]*Locale
	fallback *Locale
}

// Entry is one message of a catalogue file: a plain string, or plural forms
// ({"one": "…", "other": "…"}; CLDR's names: zero, one, two, few, many,
// other, or "=N") selected by the message's first argument.
type Entry struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON takes a string or an object of plural forms.
func (e *Entry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Text)
	}
	if err := json.Unmarshal(b, &e.Plural); err != nil {
		return err
	}
	if e.Plural["other"] == "" {
		return fmt.Errorf("plural forms without \"other\"")
	}
	return nil
}

// builtin is the catalogue compiled into the binary: built on first use
// and never changed after.
var builtin = sync.OnceValues(func() (*Catalogue, error) { return Load(localeFiles, "locales") })

// Builtin returns the catalogue compiled into the binary; a malformed
// catalogue file is a build mistake the tests catch, so it panics.
func Builtin() *Catalogue {
	c, err := builtin()
	if err != nil {
		panic(err)
	}
	return c
}

// Files reads the catalogue files of a directory as they are: language →
// key → entry. Tests use it to compare the languages.
func Files(fsys fs.FS, dir string) (map[language.Tag]map[string]Entry, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := map[language.Tag]map[string]Entry{}
	for _, name := range names {
		tag, err := language.Parse(strings.TrimSuffix(path.Base(name), ".json"))
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: the file name is not a language tag: %w", name, err)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		m := map[string]Entry{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", name, err)
		}
		out[tag] = m
	}
	return out, nil
}

// BuiltinFiles is Files of the catalogue compiled into the binary.
func BuiltinFiles() (map[language.Tag]map[string]Entry, error) { return Files(localeFiles, "locales") }

// Load builds a catalogue from the <tag>.json files of a directory.
func Load(fsys fs.FS, dir string) (*Catalogue, error) {
	files, err := Files(fsys, dir)
	if err != nil {
		return nil, err
	}
	c := &Catalogue{
		tags:    []language.Tag{language.English},
		plain:   map[language.Tag]map[string]string{},
		builder: catalog.NewBuilder(catalog.Fallback(language.English)),
		locales: map[language.Tag]*Locale{},
	}
	var others []language.Tag
	for tag := range files {
		if tag != language.English {
			others = append(others, tag)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].String() < others[j].String() })
	c.tags = append(c.tags, others...)
	for tag, entries := range files {
		plain := map[string]string{}
		for key, e := range entries {
			if e.Plural == nil {
				plain[key] = e.Text
				if err := c.builder.SetString(tag, key, e.Text); err != nil {
					return nil, fmt.Errorf("catalogue %s: %q: %w", tag, key, err)
				}
				continue
			}
			var cases []any
			for _, form := range []string{"zero", "one", "two", "few", "many"} {
				if s, ok := e.Plural[form]; ok {
					cases = append(cases, form, s)
				}
			}
			for form, s := range e.Plural {
				if strings.HasPrefix(form, "=") {
					cases = append([]any{form, s}, cases...)
				}
			}
			cases = append(cases, "other", e.Plural["other"])
			if err := c.builder.Set(tag, key, plural.Selectf(1, "", cases...)); err != nil {
				return nil, fmt.Errorf("catalogue %s: %q: %w", tag, key, err)
			}
		}
		c.plain[tag] = plain
	}
	c.matcher = language.NewMatcher(c.tags)
	for _, tag := range c.tags {
		c.locales[tag] = &Locale{tag: tag, plain: c.plain[tag], printer: message.NewPrinter(tag, message.Catalog(c.builder))}
	}
	c.fallback = c.locales[language.English]
	return c, nil
}

// Locales are the catalogue's languages, English first.
func (c *Catalogue) Locales() []*Locale {
	out := make([]*Locale, len(c.tags))
	for i, t := range c.tags {
		out[i] = c.locales[t]
	}
	return out
}

// Supported reports whether a tag names one of the catalogue's languages
// exactly ("ko", "en"): what a user may choose.
func (c *Catalogue) Supported(tag string) bool {
	t, err := language.Parse(tag)
	if err != nil {
		return false
	}
	_, ok := c.locales[t]
	return ok && t.String() == tag
}

// Choose picks the language of a request: the user's choice when it is
// one of the catalogue's, else the best match for the Accept-Language
// header, else English.
func (c *Catalogue) Choose(choice, acceptLanguage string) *Locale {
	if t, err := language.Parse(choice); err == nil && choice != "" {
		if l, ok := c.locales[t]; ok {
			return l
		}
	}
	if acceptLanguage == "" {
		return c.fallback
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return c.fallback
	}
	_, i, conf := c.matcher.Match(prefs...)
	if conf == language.No {
		return c.fallback
	}
	return c.locales[c.tags[i]]
}

// Locale is one language of a catalogue: its messages and its formatting.
type Locale struct {
	tag     language.Tag
	plain   map[string]string
	printer *message.Printer
}

// Tag is the locale's BCP 47 tag ("en", "ko"), for <html lang>.
func (l *Locale) Tag() string { return l.tag.String() }

// Name is the language's name in itself ("English", "한국어"): the
// catalogue file's "_language" entry.
func (l *Locale) Name() string {
	if n := l.plain[NameKey]; n != "" {
		return n
	}
	return l.tag.String()
}

// NameKey is the catalogue entry that names the file's language.
const NameKey = "_language"

// Korean reports whether the locale is Korean (for the few formats that
// are not messages, like dates).
func (l *Locale) Korean() bool { base, _ := l.tag.Base(); return base.String() == "ko" }

// T translates key; with args, key is a format (fmt's verbs; %[2]s to
// reorder) whose numbers are written the locale's way, and a key with
// plural forms in the catalogue chooses them by the first argument.
func (l *Locale) T(key string, args ...any) string {
	if len(args) == 0 {
		if s, ok := l.plain[key]; ok {
			return s
		}
		return key
	}
	return l.printer.Sprintf(key, args...)
}

type ctxKey int

const localeKey ctxKey = iota

// WithLocale returns ctx carrying the request's locale.
func WithLocale(ctx context.Context, l *Locale) context.Context {
	return context.WithValue(ctx, localeKey, l)
}

// From returns the locale a context carries, or English.
func From(ctx context.Context) *Locale {
	if l, ok := ctx.Value(localeKey).(*Locale); ok && l != nil {
		return l
	}
	return Builtin().fallback
}

// T translates key into the context's language (see Locale.T). Keys are
// literal English text, so that the catalogue test finds them.
func T(ctx context.Context, key string, args ...any) string { return From(ctx).T(key, args...) }

// N marks a key that is translated later under a computed name (a sidebar
// label kept in a table, a status): it returns key as it is, and the
// catalogue test counts the key as used.
func N(key string) string { return key }

// Known translates a text that may be a catalogue key: a label marked with
// N, or a message of the models (form errors, refusals), which are English
// sentences the catalogues may hold. Any other text is returned as it is.
func Known(ctx context.Context, text string) string {
	if s, ok := From(ctx).plain[text]; ok {
		return s
	}
	return text
}
