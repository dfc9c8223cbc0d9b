package web

import (
	"context"
	"errors"
	"strings"
	"testing"

	"stratus/handlers/httpx"
	"stratus/models"
	"stratus/models/storetest"
	"stratus/views/i18n"
)

// A manifest's per-segment errors reach a Korean reader in Korean, each
// through its format's catalogue entry, inside the translated "Errors: …"
// line; the Swift API keeps Swift's English, byte for byte.
func TestManifestErrorsInTheReadersLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		pr, err := s.CreateProject(ctx, models.Caller{UserName: "test"}, models.ProjectInput{Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateContainer(ctx, pr.ID, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutObject(ctx, pr.ID, "c", "a", models.ObjectWrite{ContentLength: 1}, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		wrong, two := "0", int64(2)
		_, err = s.PutManifest(ctx, pr.ID, "c", "big", models.ObjectWrite{}, []models.ManifestSegment{
			{Path: "/c/a", ETag: &wrong}, {Path: "/c/none"}, {Path: "c/a", SizeBytes: &two},
		})
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("a bad manifest: %v, want a validation error", err)
		}
		const english = "Errors: /c/a, Etag Mismatch; /c/none, 404 Not Found; /c/a, Size Mismatch (2 given, 1 stored)"
		if got := ve.Fields["manifest"]; got != english {
			t.Errorf("the API's message: %q, want %q", got, english)
		}

		ko := i18n.WithLocale(ctx, i18n.Builtin().Choose("ko", ""))
		got := problemText(ko, httpx.ProblemFor(err), err)
		const korean = "오류: /c/a, ETag 불일치; /c/none, 404 찾을 수 없음; /c/a, 크기 불일치(지정 2, 저장 1)"
		if !strings.Contains(got, korean) {
			t.Errorf("the web's message in Korean: %q, want it to contain %q", got, korean)
		}
		if en := problemText(ctx, httpx.ProblemFor(err), err); !strings.Contains(en, english) {
			t.Errorf("the web's message in English: %q, want it to contain %q", en, english)
		}
	})
}
