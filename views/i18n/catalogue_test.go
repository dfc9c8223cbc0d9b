package i18n_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"stratus/views/i18n"
)

// root is the module's directory (tests run in views/i18n).
const root = "../.."

// translated are the directories whose Go code (templ's generated code
// included) shows text to people.
var translated = []string{"views", "handlers/web"}

// use is one call of i18n.T (or a Locale's T) with a literal key.
type use struct {
	key string
	pos string // file:line, of the .templ file when the call is in one
}

// keysInCode finds every literal key passed to T in the translated
// directories. A key that is not a literal cannot be checked: it is
// reported too, so that each text stays findable.
func keysInCode(t *testing.T) (uses []use, dynamic []string) {
	t.Helper()
	fset := token.NewFileSet()
	for _, dir := range translated {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				key, ok := tKey(call)
				if !ok {
					return true
				}
				pos := where(fset, call.Pos())
				lit, ok := key.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					dynamic = append(dynamic, pos)
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %v", pos, err)
				}
				uses = append(uses, use{key: s, pos: pos})
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return uses, dynamic
}

// tKey returns the key argument of i18n.T(ctx, key, …) or of l.T(key, …)
// on a *i18n.Locale (named l or loc by convention).
func tKey(call *ast.CallExpr) (ast.Expr, bool) {
	if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "T" && len(call.Args) >= 2 { // inside package i18n
		return call.Args[1], true
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "T" && sel.Sel.Name != "N") {
		return nil, false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return nil, false
	}
	switch {
	case x.Name == "i18n" && sel.Sel.Name == "N" && len(call.Args) == 1:
		return call.Args[0], true
	case x.Name == "i18n" && len(call.Args) >= 2:
		return call.Args[1], true
	case (x.Name == "l" || x.Name == "loc") && len(call.Args) >= 1:
		return call.Args[0], true
	}
	return nil, false
}

// where is file:line, or the .templ file for templ's generated code (whose
// lines do not match the source's).
func where(fset *token.FileSet, p token.Pos) string {
	pos := fset.Position(p)
	name, _ := filepath.Rel(root, pos.Filename)
	if strings.HasSuffix(name, "_templ.go") {
		return strings.TrimSuffix(name, "_templ.go") + ".templ"
	}
	return fmt.Sprintf("%s:%d", name, pos.Line)
}

// Every key the code translates is in every language's catalogue (English
// needs only the keys with plural forms: the key is its text), and no
// catalogue keeps keys nobody uses.
func TestCataloguesHaveEveryKey(t *testing.T) {
	uses, dynamic := keysInCode(t)
	if len(uses) == 0 {
		t.Fatal("found no i18n.T call: the scan is broken")
	}
	for _, pos := range dynamic {
		t.Errorf("%s: i18n.T with a key that is not a string literal: write the English text in the call, so that the catalogues can be checked", pos)
	}
	files, err := i18n.BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	literals := literalsIn(t, "models", "views", "handlers/web", "handlers/httpx")
	used := map[string]bool{i18n.NameKey: true}
	missing := map[language.Tag][]string{}
	for _, u := range uses {
		used[u.key] = true
		for tag, entries := range files {
			if _, ok := entries[u.key]; !ok && tag != language.English {
				missing[tag] = append(missing[tag], fmt.Sprintf("  %s  (%s)", jsonLine(u.key), u.pos))
			}
		}
	}
	for tag, lines := range missing {
		sort.Strings(lines)
		lines = uniq(lines)
		t.Errorf("views/i18n/locales/%s.json lacks %d key(s) the code uses; add them with their translation (the glossary is views/i18n/GLOSSARY.md):\n%s",
			tag, len(lines), strings.Join(lines, "\n"))
	}
	for tag, entries := range files {
		if _, ok := entries[i18n.NameKey]; !ok {
			t.Errorf("views/i18n/locales/%s.json has no %q (the language's name in itself)", tag, i18n.NameKey)
		}
		var unused []string
		for key := range entries {
			if !used[key] && !strings.HasPrefix(key, "%") && !literals[key] {
				unused = append(unused, strconv.Quote(key))
			}
		}
		sort.Strings(unused)
		if len(unused) > 0 {
			t.Errorf("views/i18n/locales/%s.json has keys no code uses (remove them, or the code lost its i18n.T): %s", tag, strings.Join(unused, ", "))
		}
	}
}

// literalsIn are the string literals of the Go code of dirs: a catalogue
// key that is one of them is in use through i18n.Known (a status code, a
// message of the models shown as a form error or a refusal).
func literalsIn(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out[s] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func jsonLine(key string) string { return fmt.Sprintf("%s: \"…\",", strconv.Quote(key)) }

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// Each catalogue's translations take the same arguments as their key:
// a Korean text that dropped a %s would show "%!(EXTRA …)".
func TestTranslationsKeepTheirArguments(t *testing.T) {
	files, err := i18n.BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	for tag, entries := range files {
		for key, e := range entries {
			texts := []string{e.Text}
			if e.Plural != nil {
				texts = texts[:0]
				for _, s := range e.Plural {
					texts = append(texts, s)
				}
			}
			for _, s := range texts {
				if verbs(s) != verbs(key) {
					t.Errorf("%s.json: %q → %q: the verbs differ (%s vs %s)", tag, key, s, verbs(s), verbs(key))
				}
			}
		}
	}
}

// Each translation formats cleanly with arguments of its key's kinds: a
// verb the same in name but mangled (an index put where fmt does not read
// it, "%[1]04X") shows "%!X(BADINDEX)" where verbs cannot see it.
func TestTranslationsFormatCleanly(t *testing.T) {
	files, err := i18n.BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	c := i18n.Builtin()
	for tag, entries := range files {
		l := c.Choose(tag.String(), "")
		for key := range entries {
			var args []any
			for _, v := range strings.Fields(verbsInOrder(key)) {
				if strings.ContainsAny(v[len(v)-1:], "dxXc") {
					args = append(args, 7)
				} else {
					args = append(args, "x")
				}
			}
			if len(args) == 0 {
				continue
			}
			if got := l.T(key, args...); strings.Contains(got, "%!") {
				t.Errorf("%s.json: %q formats as %q", tag, key, got)
			}
		}
	}
}

// verbsInOrder is a format's verbs in the order of its arguments.
func verbsInOrder(s string) string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		for j < len(s) && strings.ContainsRune("0123456789.+-# ", rune(s[j])) {
			j++
		}
		if j < len(s) && s[j] != '%' {
			out = append(out, "%"+s[i+1:j+1])
		}
		i = j
	}
	return strings.Join(out, " ")
}

// verbs is the multiset of a format's verbs, sorted ("%d %s").
func verbs(s string) string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		for j < len(s) && strings.ContainsRune("[]0123456789.+-# ", rune(s[j])) {
			j++
		}
		if j < len(s) && s[j] != '%' {
			v := s[i+1 : j+1]
			if k := strings.Index(v, "]"); k >= 0 { // %[2]s counts as %s
				v = v[k+1:]
			}
			out = append(out, "%"+v)
		}
		i = j
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// The formats differ per language as documented.
func TestFormats(t *testing.T) {
	c := i18n.Builtin()
	ko := i18n.WithLocale(context.Background(), c.Choose("ko", ""))
	en := i18n.WithLocale(context.Background(), c.Choose("", "en-US"))
	now := mustTime(t, "2026-12-04T13:51:00Z")
	for _, tc := range []struct{ got, want string }{
		{i18n.Ago(ko, now, now.Add(-2*time.Minute)), "2분 전"},
		{i18n.Ago(en, now, now.Add(-2*time.Minute)), "2 minutes ago"},
		{i18n.Ago(en, now, now.Add(-time.Minute)), "1 minute ago"},
		{i18n.Ago(ko, now, now.Add(-30*time.Second)), "방금"},
		{i18n.Ago(ko, now, now.Add(-72*time.Hour)), "3일 전"},
		{i18n.Ago(en, now, now.Add(-5*time.Hour)), "5 hours ago"},
		{i18n.Ago(en, now, now.Add(time.Minute)), "just now"}, // clocks apart
		{i18n.When(ko, now), "2026. 12. 4. 13:51 UTC"},
		{i18n.When(en, now), "2026-12-04 13:51 UTC"},
		{i18n.Bytes(ko, 1536<<20), "1.5 GiB"},
		{i18n.Bytes(en, 100<<30), "100 GiB"},
		{i18n.Bytes(en, 1000<<10), "1,000 KiB"},
		{i18n.BytesFixed(en, 100<<30), "100.0 GiB"},
		{i18n.BytesFixed(ko, 1536<<20), "1.5 GiB"},
		{i18n.BytesFixed(en, 1023), "1,023 B"},
		{i18n.Number(ko, 1234567), "1,234,567"},
		{i18n.List(en, []string{"a", "b", "c"}), "a, b and c"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := c.Choose("", "ko-KR,ko;q=0.9").Tag(); got != "ko" {
		t.Errorf("Accept-Language ko-KR chose %q", got)
	}
	if got := c.Choose("", "fr").Tag(); got != "en" {
		t.Errorf("Accept-Language fr chose %q, want the English fallback", got)
	}
	if got := c.Choose("ko", "en").Tag(); got != "ko" {
		t.Errorf("a user's ko with an English browser chose %q", got)
	}
}

// A third language is a file: loading a directory with one more gives it.
func TestThirdLanguageIsAFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"en.json", "ko.json"} {
		b, err := os.ReadFile(filepath.Join("locales", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ja.json"), []byte(`{"_language": "日本語", "just now": "たった今"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := i18n.Load(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Choose("", "ja-JP")
	if l.Tag() != "ja" || l.Name() != "日本語" || l.T("just now") != "たった今" || !c.Supported("ja") {
		t.Errorf("ja: tag %q name %q text %q", l.Tag(), l.Name(), l.T("just now"))
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
