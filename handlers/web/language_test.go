package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// The console speaks the browser's language until the user chooses one in
// the user menu; the choice is kept on the user, across sessions.
func TestLanguageFromBrowserThenUsersChoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		lang := func(p *page) string { v, _ := p.doc.Find("html").Attr("lang"); return v }

		anon := b.browser(t)
		if got := lang(anon.get("/login", "Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5")); got != "ko" {
			t.Errorf("login page for a Korean browser: lang %q, want ko", got)
		}
		if got := lang(anon.get("/login", "Accept-Language", "fr-FR")); got != "en" {
			t.Errorf("login page for a French browser: lang %q, want the English fallback", got)
		}

		br := b.browser(t)
		br.login("demo", demoPassword)
		home := br.get("/")
		if got := lang(home); got != "en" {
			t.Fatalf("no Accept-Language, no choice: lang %q, want en", got)
		}
		if home.testID("language-ko").Text() != "한국어" || home.testID("language-auto").AttrOr("aria-pressed", "") != "true" {
			t.Errorf("language menu: ko %q, auto pressed %q", home.testID("language-ko").Text(), home.testID("language-auto").AttrOr("aria-pressed", ""))
		}
		p := br.submit("/language", url.Values{"language": {"ko"}, "next": {"/keypairs"}})
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/keypairs" {
			t.Errorf("after choosing: to %q, want back to /keypairs", p.location())
		}
		home = br.get("/", "Accept-Language", "en-US")
		if got := lang(home); got != "ko" {
			t.Errorf("after choosing Korean, an English browser gets lang %q, want ko", got)
		}
		if home.testID("flash").Text() == "" || home.testID("language-ko").AttrOr("aria-pressed", "") != "true" {
			t.Errorf("after choosing: flash %q, ko pressed %q", home.testID("flash").Text(), home.testID("language-ko").AttrOr("aria-pressed", ""))
		}

		// Kept on the user: a new session starts in Korean.
		again := b.browser(t)
		again.login("demo", demoPassword)
		if got := lang(again.get("/")); got != "ko" {
			t.Errorf("new session: lang %q, want the user's ko", got)
		}

		// A language without a catalogue is refused and nothing changes
		// (TestUnknownLanguageIsRefused).
		br.get("/")
		wantStatus(t, br.submit("/language", url.Values{"language": {"xx"}}), http.StatusUnprocessableEntity)
		if got := lang(br.get("/")); got != "ko" {
			t.Errorf("after an unknown language: lang %q, want ko kept", got)
		}

		// Back to the browser's.
		wantStatus(t, br.submit("/language", url.Values{"language": {""}}), http.StatusSeeOther)
		if got := lang(br.get("/", "Accept-Language", "en-GB")); got != "en" {
			t.Errorf("following the browser again: lang %q, want en", got)
		}
	})
}

// TestUnknownLanguageIsRefused: a language value the menu does not offer
// (one without a catalogue, a malformed tag, a tag not in its canonical
// form) is a 422 naming the field, and the user's stored choice stays.
func TestUnknownLanguageIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		br := b.browser(t)
		br.login("demo", demoPassword)
		br.get("/")
		wantStatus(t, br.submit("/language", url.Values{"language": {"ko"}}), http.StatusSeeOther)
		for _, value := range []string{"xx", "fr", "ko-KR", "KO", "<script>", strings.Repeat("k", 300)} {
			t.Run(value[:min(len(value), 10)], func(t *testing.T) {
				br.get("/")
				p := br.submit("/language", url.Values{"language": {value}, "next": {"/keypairs"}})
				wantStatus(t, p, http.StatusUnprocessableEntity)
				if msg := p.testID("error-message").Text(); !strings.Contains(msg, "language") {
					t.Errorf("the refusal does not name the field: %q", msg)
				}
				u, err := s.GetUser(context.Background(), "demo")
				if err != nil {
					t.Fatal(err)
				}
				if u.Locale != "ko" {
					t.Errorf("the stored language is %q, want ko kept", u.Locale)
				}
			})
		}
	})
}

// koreanDemo is demo's browser, switched to Korean from the user menu.
func (b *bundle) koreanDemo(t *testing.T) *browser {
	t.Helper()
	br := b.browser(t)
	br.login("demo", demoPassword)
	br.get("/")
	wantStatus(t, br.submit("/language", url.Values{"language": {"ko"}}), http.StatusSeeOther)
	return br
}

// The models' messages reach a Korean reader in Korean — a field error
// beside its field, a refusal (a 409 whose message has arguments, the
// state among them translated like its badge) as a flash — while the API
// keeps the English text and code.
func TestModelMessagesInTheReadersLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		act := c.launch(t, c.demoC, "act", 1)[0]
		c.activate(t, act)
		br := c.koreanDemo(t)

		br.get("/keypairs")
		p := br.submit("/keypairs", url.Values{"name": {"laptop"}, "public_key": {"ssh-rsa AAAA-not-base64"}, "mode": {"import"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := p.testID("error-public_key").Text(); !strings.HasPrefix(got, "OpenSSH 공개 키가 아닙니다") {
			t.Errorf("the field error in Korean: %q", got)
		}

		br.get("/instances")
		wantStatus(t, br.submit("/instances/"+act.ID+"/action", url.Values{"action": {"start"}}), http.StatusSeeOther)
		got := br.get("/instances").testID("flash-error").Text()
		if !strings.Contains(got, "인스턴스 act이(가) 실행 중 상태인 동안에는") || strings.Contains(got, "cannot") {
			t.Errorf("the refusal in Korean: %q", got)
		}

		// The API keeps the models' English.
		_, err := s.PowerAction(context.Background(), c.demoC, act.ID, models.PowerStart)
		if err == nil || !strings.Contains(err.Error(), "cannot start instance act while it is ACTIVE") {
			t.Errorf("the model's message changed: %v", err)
		}
	})
}

// A field error the models compose from a format (a token's longest
// expiry, a resize to a flavor that does not exist) reaches a Korean reader in
// Korean — beside its field on a form, in a flash — through the format's
// catalogue entry, with its arguments in place; the API keeps the English.
func TestComposedFieldErrorsInTheReadersLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		inst := c.launch(t, c.demoC, "web", 1)[0]
		c.activate(t, inst)
		br := c.koreanDemo(t)

		br.get("/tokens")
		p := br.submit("/tokens", url.Values{"name": {"ci"}, "expires_in_days": {"400"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if got := p.testID("error-expires_in_days").Text(); got != "365일 이내여야 합니다" {
			t.Errorf("the expiry's field error: %q, want the Korean of %q", got, "must be within 365 days")
		}

		br.get("/instances/" + inst.ID)
		wantStatus(t, br.submit("/instances/"+inst.ID+"/move", url.Values{"action": {models.ActionResize}, "flavor": {"m9.nope"}, "next": {"/instances/" + inst.ID}}),
			http.StatusSeeOther)
		got := br.get("/instances/" + inst.ID).testID("flash-error").Text()
		if !strings.Contains(got, "사용할 수 있는 플레이버 m9.nope이(가) 없습니다") || strings.Contains(got, "you may use") {
			t.Errorf("the resize refusal in Korean: %q", got)
		}

		// A refusal made with a format (errorf), its quota named by the
		// label the overview shows.
		if _, err := s.SetQuotas(context.Background(), c.adminC, "demo", map[string]int64{models.QuotaKeyPairs: 0}); err != nil {
			t.Fatal(err)
		}
		br.get("/keypairs")
		p = br.submit("/keypairs", url.Values{"name": {"k1"}, "mode": {"generate"}})
		wantStatus(t, p, http.StatusForbidden)
		if got := p.testID("form-error").Text(); !strings.Contains(got, "키 페어 할당량 초과: 1 요청") || strings.Contains(got, "keypairs") {
			t.Errorf("the key pair quota refusal in Korean: %q", got)
		}

		// The API keeps the models' English, byte for byte.
		_, err := s.MoveInstance(context.Background(), c.demoC, inst.ID, models.ActionResize, models.MoveRequest{Flavor: "m9.nope"})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["flavor"] != "no flavor m9.nope you may use" {
			t.Errorf("the model's message changed: %v", err)
		}
	})
}
