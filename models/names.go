package models

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// Names. Every name Stratus stores — of an instance, image, flavor, key
// pair, project, user, server group, API token, host, network, subnet,
// port, security group, and of every resource still to come (volumes,
// containers…) — is checked here, through Problems.Name (required free
// text), Problems.Slug (identifiers) or Problems.Text (optional names,
// descriptions, reasons), so that none can
// hold a character that is invisible or changes how the text around it
// displays: a name that reads as something else in a list, a terminal
// escape in a CLI's table, a line break in a log.
//
// The set follows Nova's rule for names (parameter_types.valid_name_regex:
// no character of Unicode category C*, and of Z* only the spaces, Zs):
// refused are the controls (Cc: C0, DEL, C1 — ESC and BEL among them), the
// format characters (Cf: the bidirectional embeddings, overrides and
// isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E/U+200F and
// U+061C, zero-width spaces and joiners, the soft hyphen, the BOM, tag
// characters…), private-use characters (Co), and the line and paragraph
// separators (Zl, Zp). Names are trimmed of surrounding white space by the
// intents before they are checked.

// NameProblem says what is wrong with name as a stored name of at most max
// characters, or "" when nothing is. Adapters never need it (the intents
// check their inputs); a new resource's intent calls Problems.Name.
func NameProblem(name string, max int) string { return nameProblem(name, max).Text }

// nameProblem is NameProblem with the format of its text, for Problems.
func nameProblem(name string, max int) Problem {
	switch {
	case name == "":
		return Problem{Text: "is required"}
	case !utf8.ValidString(name):
		return Problem{Text: "must be UTF-8 text"}
	}
	n := 0
	for _, r := range name {
		n++
		if hiddenRune(r) {
			return problemf("must not contain control or invisible formatting characters (U+%04X is character %d)", r, n)
		}
	}
	if n > max {
		return problemf("must be at most %d characters", max)
	}
	return Problem{}
}

// hiddenRune reports a character a name may not hold (see above).
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp)
}

// Name checks a free-text name (an instance's, an image's, a token's) of
// at most max characters and records its problem under field.
func (p Problems) Name(field, name string, max int) {
	if pr := nameProblem(name, max); pr.Text != "" {
		p.put(field, pr)
	}
}

// slugRE is the shape of the names people type in commands and URLs
// (users, projects, flavors, key pairs, server groups): 1–64 letters,
// digits, '.', '_', '@' or '-', starting with a letter or digit — nothing
// that needs quoting in a shell or a URL.
var slugRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// Slug checks an identifier-like name (slugRE) and records its problem
// under field; a control or formatting character is named as such.
func (p Problems) Slug(field, name string) {
	if pr := nameProblem(name, 64); pr.Text != "" {
		p.put(field, pr)
		return
	}
	if !slugRE.MatchString(name) {
		p.Add(field, "must be 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
}

// Text checks text that may be empty: the name of a resource whose name is
// optional (Neutron's and Cinder's are), or a line shown beside a resource
// (a description, a reason), of at most max characters. It holds no
// character a name may not hold.
func (p Problems) Text(field, text string, max int) {
	if pr := textProblem(text, max); pr.Text != "" {
		p.put(field, pr)
	}
}

// TextProblem is NameProblem for text that may be empty.
func TextProblem(text string, max int) string { return textProblem(text, max).Text }

func textProblem(text string, max int) Problem {
	if text == "" {
		return Problem{}
	}
	return nameProblem(text, max)
}
