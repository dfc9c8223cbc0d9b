package i18n_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	templparser "github.com/a-h/templ/parser/v2"
	"golang.org/x/text/language"

	"stratus/views/i18n"
)

// The strict test: no text a person reads is written in a template (or in
// the Go code of the views) outside the catalogue. It parses every .templ
// file under views/ and fails on
//   - a text node with a word in it,
//   - a constant attribute a person reads (title, placeholder, aria-label,
//     alt, hx-confirm, a button's value …) with a word in it,
//   - a Go string literal with a word in it where the template shows it
//     ({ "…" }, title={ "…" }),
//   - a Go string literal that reads as prose anywhere else in a template's
//     Go (component arguments, {{ }} code, the .templ file's Go functions)
//     or in the views' own Go files, and any literal given to a field that
//     holds text (Label:, Title:, Hint: …),
// unless the literal is an argument of i18n.T, i18n.N or i18n.Known (the
// catalogue test checks those), or every word in it is on the allowlist
// below. A word is a run of letters; words in another script than Latin
// count too (a Korean text belongs in ko.json, not in a template).

// allowedWords are the words a page may show as they are in every
// language: the brand, units, protocol and format names. Keep it short:
// a word here is never translated anywhere in a template.
var allowedWords = map[string]bool{
	"Stratus": true, // the brand
	// units
	"B": true, "KiB": true, "MiB": true, "GiB": true, "TiB": true, "MB": true, "GB": true, "TB": true,
	"vCPU": true, "vCPUs": true,
	// technical tokens, the same in Korean consoles
	"IPv4": true, "IPv6": true, "IP": true, "IPs": true, "CIDR": true, "MAC": true, "MTU": true, "DHCP": true, "DNS": true,
	"ID": true, "UUID": true, "URL": true, "API": true, "JSON": true, "SSH": true, "TCP": true, "UDP": true, "ICMP": true,
	"VNC": true, "VXLAN": true, "ETag": true, "UTC": true, "qcow2": true, "raw": true, "ISO": true, "OpenStack": true,
	"ssh": true, "rsa": true, "ed25519": true, // key types in an example
	"htmx": true,
}

// textAttrs are the attributes whose value a person reads (or hears).
var textAttrs = map[string]bool{
	"title": true, "placeholder": true, "aria-label": true, "aria-description": true, "aria-roledescription": true,
	"aria-valuetext": true, "alt": true, "label": true, "hx-confirm": true, "data-confirm": true, "data-confirm-text": true,
	"data-label": true, "data-title": true, "data-empty": true, "data-copied": true, "data-copy-label": true,
}

// codeElements hold commands and code to copy as they are (a swift
// command line, an HTTP header): their text is not checked.
var codeElements = map[string]bool{"code": true, "pre": true, "kbd": true, "samp": true}

// textFields are struct fields (of the ui package's props and the pages'
// own) that hold text shown as it is.
var textFields = map[string]bool{
	"Label": true, "Title": true, "Subtitle": true, "Text": true, "Hint": true, "Help": true, "Placeholder": true,
	"Message": true, "Confirm": true, "ConfirmText": true, "ConfirmLabel": true, "Question": true, "Body": true,
	"Description": true, "Empty": true, "EmptyText": true, "Never": true, "ActionLabel": true,
	"Button": true, "Submit": true, "Cancel": true, "Note": true, "Notes": true, "Error": true, "Errors": true,
}

// wordRE is a word: letters, maybe with digits after the first letter
// ("IPv4", "qcow2", "m1").
var wordRE = regexp.MustCompile(`\p{L}[\p{L}\p{N}_]*`)

// englishWords are the words of s that are not allowed as they are.
func englishWords(s string) []string {
	var out []string
	for _, w := range wordRE.FindAllString(s, -1) {
		if !allowedWords[w] {
			out = append(out, w)
		}
	}
	return out
}

// technical are literals that are not prose though they have words: CSS
// classes, test IDs, URLs, htmx triggers, icon names, identifiers.
var technical = regexp.MustCompile(`^[a-z0-9_:./#?&=%{}\[\]()*,!<>@+\-]*$|^[a-z][a-zA-Z0-9]*$|^[A-Z][A-Z0-9_]*$`)

// prose reports whether a Go literal outside a text position reads as
// words for people: a capitalised word followed by lowercase ("Delete"),
// or two plain lowercase words with a space ("no instances").
func prose(s string) bool {
	if verbRE.MatchString(s) && strings.Contains(s, " ") {
		for _, f := range strings.Fields(verbRE.ReplaceAllString(s, "")) {
			if lettersRE.MatchString(f) && !allowedWords[f] {
				return true // a format with words: "%d lines"
			}
		}
	}
	if words := plainWords(s); words >= 2 || (words == 1 && strings.HasPrefix(s, " ")) {
		return true // "(no limit)", " of " (a piece of a sentence put together)
	}
	s = strings.TrimSpace(verbRE.ReplaceAllString(s, ""))
	if len(englishWords(s)) == 0 || technical.MatchString(s) {
		return false
	}
	for _, f := range strings.Fields(s) {
		if strings.ContainsAny(f, "-:/=[]{}#.%") && !strings.HasSuffix(f, ".") {
			return false // a class list, a path, a selector
		}
	}
	if r := []rune(s); unicode.IsUpper(r[0]) && len(r) > 1 && unicode.IsLower(r[1]) {
		return true
	}
	if !isLatin(s) {
		return true
	}
	return len(strings.Fields(s)) >= 2 && !technical.MatchString(strings.ReplaceAll(s, " ", ""))
}

// plainWords counts the fields of s that are words (punctuation around
// them aside) outside the allowlist.
func plainWords(s string) int {
	n := 0
	for _, f := range strings.Fields(verbRE.ReplaceAllString(s, "")) {
		if f = strings.Trim(f, "()[].,:;!?\"'“”…"); lettersRE.MatchString(f) && !allowedWords[f] {
			n++
		}
	}
	return n
}

func isLatin(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) && r > unicode.MaxLatin1 {
			return false
		}
	}
	return true
}

// finding is one string outside the catalogue.
type finding struct {
	pos, what, text string
}

func (f finding) String() string { return fmt.Sprintf("%s: %s %q", f.pos, f.what, f.text) }

// scanner collects the findings of one file.
type scanner struct {
	file string
	out  []finding
}

func (s *scanner) add(r templparser.Range, what, text string) {
	s.out = append(s.out, finding{pos: fmt.Sprintf("%s:%d", s.file, r.From.Line+1), what: what, text: strings.TrimSpace(text)})
}

func (s *scanner) nodes(nodes []templparser.Node) {
	for _, n := range nodes {
		s.node(n)
	}
}

func (s *scanner) node(n templparser.Node) {
	switch n := n.(type) {
	case *templparser.Text:
		if t := html.UnescapeString(n.Value); len(englishWords(t)) > 0 {
			s.add(n.Range, "text", t)
		}
	case *templparser.Element:
		s.attrs(n.Name, n.Attributes)
		if !codeElements[n.Name] {
			s.nodes(n.Children)
		}
	case *templparser.StringExpression:
		s.goExpr(n.Expression, true)
	case *templparser.TemplElementExpression:
		s.goExpr(n.Expression, false)
		s.nodes(n.Children)
	case *templparser.CallTemplateExpression:
		s.goExpr(n.Expression, false)
	case *templparser.GoCode:
		s.goStmts(n.Expression)
	case *templparser.IfExpression:
		s.nodes(n.Then)
		for _, e := range n.ElseIfs {
			s.nodes(e.Then)
		}
		s.nodes(n.Else)
	case *templparser.SwitchExpression:
		for _, c := range n.Cases {
			s.nodes(c.Children)
		}
	case *templparser.ForExpression:
		s.nodes(n.Children)
	case *templparser.ScriptElement, *templparser.RawElement, *templparser.HTMLComment, *templparser.GoComment,
		*templparser.Whitespace, *templparser.DocType, *templparser.ChildrenExpression, *templparser.Fallthrough:
	default:
		if c, ok := n.(templparser.CompositeNode); ok {
			s.nodes(c.ChildNodes())
		}
	}
}

func (s *scanner) attrs(element string, attrs []templparser.Attribute) {
	typ := ""
	for _, a := range attrs {
		if c, ok := a.(*templparser.ConstantAttribute); ok && c.Key.String() == "type" {
			typ = c.Value
		}
	}
	for _, a := range attrs {
		switch a := a.(type) {
		case *templparser.ConstantAttribute:
			key := a.Key.String()
			reads := textAttrs[key] || (key == "value" && element == "input" && (typ == "submit" || typ == "button"))
			if v := html.UnescapeString(a.Value); reads && len(englishWords(v)) > 0 {
				s.add(a.Range, key+"=", v)
			}
		case *templparser.ExpressionAttribute:
			if a.Key.String() != "class" { // CSS classes, not words
				s.goExpr(a.Expression, textAttrs[a.Key.String()])
			}
		case *templparser.ConditionalAttribute:
			s.attrs(element, a.Then)
			s.attrs(element, a.Else)
		}
	}
}

// goExpr checks a template's Go expression; shown says its value is shown
// as text (so any literal with a word in it is a finding).
func (s *scanner) goExpr(e templparser.Expression, shown bool) {
	x, err := parser.ParseExpr(e.Value)
	if err != nil {
		// A component call with a children block, a method value …: check
		// it as statements instead.
		s.goStmts(e)
		return
	}
	s.goNode(e.Range, x, shown)
}

func (s *scanner) goStmts(e templparser.Expression) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+e.Value+"\n}", 0)
	if err != nil {
		return
	}
	s.goNode(e.Range, f, false)
}

// goNode reports the literals of a Go syntax tree outside the catalogue's
// calls.
func (s *scanner) goNode(r templparser.Range, root ast.Node, shown bool) {
	literals(root, shown, func(lit string, why string) { s.add(r, why, lit) })
}

// literals calls report for each string literal of root that is text
// outside i18n.T/N/Known. In a shown expression the literals are shown,
// except those given to a function (whose result is shown instead): those
// are checked like any other Go. A form's field error (Form.Err) shown
// outside i18n.Known is reported too: it is a model's English message.
func literals(root ast.Node, shown bool, report func(lit, why string)) {
	var walk func(n ast.Node, field string, shown bool)
	walk = func(n ast.Node, field string, shown bool) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if catalogueCall(n) || notShown(n) {
					return false
				}
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Err" && shown {
					report(types(n), "form error outside i18n.Known:")
				}
				walk(n.Fun, "", false)
				for _, a := range n.Args {
					walk(a, "", false)
				}
				return false
			case *ast.IndexExpr: // a map's key is not shown: p.Fields["name"]
				walk(n.X, field, shown)
				walk(n.Index, "", false)
				return false
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && textFields[k.Name] {
					walk(n.Value, k.Name, shown)
					return false
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if ix, ok := l.(*ast.IndexExpr); ok {
						l = ix.X // form.Errors["name"] = …
					}
					if sel, ok := l.(*ast.SelectorExpr); ok && textFields[sel.Sel.Name] && i < len(n.Rhs) {
						walk(n.Rhs[i], sel.Sel.Name, shown)
					}
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return false
				}
				v, err := strconv.Unquote(n.Value)
				if err != nil || len(englishWords(verbRE.ReplaceAllString(v, ""))) == 0 {
					return false
				}
				switch {
				case field != "":
					report(v, field+":")
				case shown:
					report(v, "shown literal")
				case prose(v):
					report(v, "literal")
				}
			}
			return true
		})
	}
	walk(root, "", shown)
}

// types is a call's source, roughly, for a message.
func types(call *ast.CallExpr) string {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && len(call.Args) == 1 {
			return "." + sel.Sel.Name + "(" + lit.Value + ")"
		}
		return "." + sel.Sel.Name + "(…)"
	}
	return "a call"
}

var lettersRE = regexp.MustCompile(`^\p{Lu}?\p{Ll}+$`)

// verbRE is a fmt verb (%s, %[2]d, %5.1f).
var verbRE = regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z%]`)

// notShown reports a call whose text no page shows: a log line, an
// error for the logs (fmt.Errorf, errors.New), a header.
func notShown(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	if x, ok := sel.X.(*ast.Ident); ok {
		switch x.Name + "." + sel.Sel.Name {
		case "fmt.Errorf", "errors.New", "http.Error":
			return true
		}
	}
	if x, ok := sel.X.(*ast.SelectorExpr); ok && x.Sel.Name == "Log" {
		return true // h.Log.Info(…)
	}
	switch sel.Sel.Name {
	case "Set", "Add", "Del", "Get": // headers, form values, URL queries
		return true
	}
	return false
}

// catalogueCall reports a call of i18n.T, i18n.N, i18n.Known or a
// Locale's T: its literal is a catalogue key.
func catalogueCall(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	switch {
	case x.Name == "i18n":
		return sel.Sel.Name == "T" || sel.Sel.Name == "N" || sel.Sel.Name == "Known"
	case x.Name == "l" || x.Name == "loc":
		return sel.Sel.Name == "T"
	}
	return false
}

// templFiles are the .templ files under views/.
func templFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(root, "views"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".templ") {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// scanTempl returns the findings of one .templ file.
func scanTempl(t *testing.T, path string) []finding {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := templparser.ParseString(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rel, _ := filepath.Rel(root, path)
	s := &scanner{file: rel}
	for _, n := range tf.Nodes {
		switch n := n.(type) {
		case *templparser.HTMLTemplate:
			s.nodes(n.Children)
		case *templparser.TemplateFileGoExpression:
			f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+n.Expression.Value, 0)
			if err != nil {
				continue // an import block, a comment
			}
			s.goNode(n.Expression.Range, f, false)
		}
	}
	return s.out
}

// scanGo returns the findings of a hand-written Go file of the views.
func scanGo(t *testing.T, path string) []finding {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, path)
	var out []finding
	for _, d := range f.Decls {
		line := fset.Position(d.Pos()).Line
		literals(d, false, func(lit, why string) {
			out = append(out, finding{pos: fmt.Sprintf("%s:%d", rel, line), what: why, text: lit})
		})
	}
	return out
}

// viewGoFiles are the hand-written Go files of the views (not i18n's, not
// templ's generated code, not tests).
func viewGoFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(root, "views"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "i18n" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_templ.go") && !strings.HasSuffix(path, "_test.go") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// handlerGoFiles are the web console's handlers (flash messages, form
// errors, page titles), without their tests.
func handlerGoFiles(t *testing.T) []string {
	t.Helper()
	out, err := filepath.Glob(filepath.Join(root, "handlers", "web", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range out {
		if !strings.HasSuffix(f, "_test.go") {
			out[n] = f
			n++
		}
	}
	return out[:n]
}

func TestTemplatesHaveNoTextOutsideTheCatalogue(t *testing.T) {
	files := templFiles(t)
	if len(files) < 10 {
		t.Fatalf("found %d .templ files under views/: the scan is broken", len(files))
	}
	var all []finding
	for _, f := range files {
		all = append(all, scanTempl(t, f)...)
	}
	for _, f := range viewGoFiles(t) {
		all = append(all, scanGo(t, f)...)
	}
	for _, f := range handlerGoFiles(t) {
		all = append(all, scanGo(t, f)...)
	}
	if len(all) > 0 {
		lines := make([]string, len(all))
		for i, f := range all {
			lines[i] = "  " + f.String()
		}
		t.Errorf("%d text(s) a person reads are not in the catalogue: write them as i18n.T(ctx, \"…\") (a label kept in a table as i18n.N(\"…\")) and add the Korean to views/i18n/locales/ko.json; only the words of allowedWords may stand as they are:\n%s",
			len(all), strings.Join(lines, "\n"))
	}
}

// The scanner finds what it is meant to find (and leaves alone what is
// not text), so that a passing strict test means something.
func TestStrictScanCatchesEnglish(t *testing.T) {
	src := `package p

templ x(n int) {
	<div class="flex items-center gap-2" data-testid="row-x" hx-trigger="every 2s">
		Delete this
		<button title="Stop it" aria-label={ "Close dialog" } hx-confirm="Really?">{ i18n.T(ctx, "Fine") }</button>
		<input type="submit" value="Save"/>
		<span>{ "3 GB" } — { strconv.Itoa(n) }</span>
		<span>{ "pending" }</span>
		<span>{ fmt.Sprintf("%d lines", n) } { p.Form.Err("name") } { i18n.Known(ctx, p.Form.Err("name")) } { p.Get("name") }</span>
		@ui.Icon("plus", "size-4")
		@ui.PageHeader("Volumes", i18n.T(ctx, "ok"))
		@ui.Input(ui.Field{Name: "name", Label: "Name", Hint: i18n.T(ctx, "x")})
		<p>IPv4 · CIDR · 10.0.0.0/24</p>
		<p>삭제</p>
		<code>swift list</code>
	</div>
}

func label() string { return "Not yet" }
`
	dir := t.TempDir()
	path := filepath.Join(dir, "x.templ")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range scanTempl(t, path) {
		got = append(got, f.what+" "+f.text)
	}
	want := []string{
		`text Delete this`, `title= Stop it`, `shown literal Close dialog`, `hx-confirm= Really?`, `value= Save`,
		`shown literal pending`, `literal %d lines`, `form error outside i18n.Known: .Err("name")`, `literal Volumes`, `Label: Name`, `text 삭제`, `literal Not yet`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the scan found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// modelMessages are the messages of the models a page may show: the
// formats of their refusals (conflict, notFound, forbidden, errorf), the
// field errors and refusals they give as literals (Invalid, Problems.Add,
// Problem{Text: …}, Error{Msg: …}) and the formats of the field errors
// they compose (Invalidf, Problems.Addf, problemf). composed lists the
// messages that are composed some other way (fmt.Sprintf or + in Invalid,
// Add or an Error's Msg, a format that is not a literal): the console
// could only show them in English.
func modelMessages(t *testing.T) (out map[string]string, composed []string) {
	t.Helper()
	out = map[string]string{}
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(root, "models", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var arg ast.Expr
			var format bool // arg must be a literal format
			switch n := n.(type) {
			case *ast.CompositeLit: // Problem{Text: "…"}, Error{Msg: "…"}
				if id, ok := n.Type.(*ast.Ident); ok && (id.Name == "Problem" || id.Name == "Error") {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && (k.Name == "Text" || k.Name == "Msg") {
								arg, format = kv.Value, id.Name == "Error" // an Error's Msg: a literal, else errorf
							}
						}
					}
				}
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				switch {
				case (name == "conflict" || name == "notFound" || name == "forbidden" || name == "problemf") && len(n.Args) >= 1:
					arg, format = n.Args[0], true
				case (name == "Invalidf" || name == "Addf" || name == "errorf") && len(n.Args) >= 2:
					arg, format = n.Args[1], true
				case (name == "Invalid" || name == "Add") && len(n.Args) == 2:
					arg = n.Args[1]
					switch m := arg.(type) {
					case *ast.BinaryExpr:
						if m.Op == token.ADD {
							composed = append(composed, where(fset, m.Pos()))
						}
					case *ast.CallExpr:
						if sel, ok := m.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" {
							composed = append(composed, where(fset, m.Pos()))
						}
					}
				}
			}
			if lit, ok := arg.(*ast.BasicLit); !ok || lit.Kind != token.STRING {
				if format && filepath.Base(path) != "errors.go" { // where the helpers pass their format on
					composed = append(composed, where(fset, arg.Pos()))
				}
			} else {
				if s, err := strconv.Unquote(lit.Value); err == nil && strings.Contains(s, " ") {
					out[s] = where(fset, lit.Pos())
				}
			}
			return true
		})
	}
	return out, composed
}

// Every message of the models that the console shows has its translation
// in each language's catalogue (the web console looks them up; the API
// keeps the English).
func TestModelMessagesHaveEveryLanguage(t *testing.T) {
	msgs, _ := modelMessages(t)
	if len(msgs) < 100 {
		t.Fatalf("found %d model messages: the scan is broken", len(msgs))
	}
	files, err := i18n.BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	for tag, entries := range files {
		if tag == language.English {
			continue
		}
		var missing []string
		for m, pos := range msgs {
			if _, ok := entries[m]; !ok {
				missing = append(missing, fmt.Sprintf("  %s  (%s)", jsonLine(m), pos))
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("views/i18n/locales/%s.json lacks %d message(s) of the models, which the console shows to people (a refusal's format, a field error); add them with their translation:\n%s",
				tag, len(missing), strings.Join(missing, "\n"))
		}
	}
}

// A field error the models compose is made with Invalidf or Problems.Addf
// and a literal format, which the test above finds in the catalogues:
// fmt.Sprintf or + inside Invalid or Add would make a text the console
// cannot look up, shown in English to every reader.
func TestModelFieldErrorsKeepTheirFormat(t *testing.T) {
	_, composed := modelMessages(t)
	for _, pos := range composed {
		t.Errorf("%s: a model message composed without a literal format: use Invalidf or Problems.Addf with the format, so that the console can translate it", pos)
	}
}
