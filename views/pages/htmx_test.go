package pages

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// openTag is an element's opening tag in a .templ file. Attributes hold Go
// expressions in braces and `if … { … }` blocks, but none of ours holds an
// angle bracket, so a tag runs from "<" to the next ">".
var openTag = regexp.MustCompile(`<[a-z][a-z0-9]*\s[^<>]*>`)

// TestPolledRegionsDisinherit: an element that swaps a part of the answer
// into itself (hx-select, usually with hx-target="this" on a poll) must
// keep those attributes to itself. htmx hands hx-target, hx-select and
// hx-swap down to every element inside, and a boosted link or form in a
// polled list then swaps the page it opens into the list instead of
// opening it: clicking a volume's name while another is deleting emptied
// the table and left the browser on the volume's URL.
func TestPolledRegionsDisinherit(t *testing.T) {
	var files []string
	for _, dir := range []string{".", "../ui", "../layout"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.templ"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d templates: is the test in views/pages?", len(files))
	}
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, loc := range openTag.FindAllIndex(src, -1) {
			tag := string(src[loc[0]:loc[1]])
			if !strings.Contains(tag, "hx-select=") {
				continue
			}
			checked++
			if !strings.Contains(tag, `hx-disinherit="*"`) {
				line := 1 + strings.Count(string(src[:loc[0]]), "\n")
				t.Errorf(`%s:%d: an element with hx-select needs hx-disinherit="*", or the links and forms inside it inherit its target and selection`, f, line)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no element with hx-select found: the tag pattern no longer matches the templates")
	}
}
