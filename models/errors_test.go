package models_test

import (
	"errors"
	"testing"

	"stratus/models"
)

// A field error made from a format keeps it beside its English text, for
// the web console to translate; a fixed sentence has none, and the first
// problem of a field wins either way.
func TestFieldErrorsKeepTheirFormat(t *testing.T) {
	p := models.Problems{}
	p.Addf("count", "must be 1–%d", 10)
	p.Add("count", "is required")
	p.Add("name", "is required")
	p.Addf("name", "must be at most %d characters", 64)
	var ve *models.ValidationError
	if !errors.As(p.Err(), &ve) {
		t.Fatalf("Err: %v", p.Err())
	}
	if ve.Fields["count"] != "must be 1–10" || ve.Fields["name"] != "is required" {
		t.Errorf("fields: %v", ve.Fields)
	}
	if m := ve.Formats["count"]; m.Format != "must be 1–%d" || len(m.Args) != 1 || m.Args[0] != 10 || m.String() != "must be 1–10" {
		t.Errorf("count's format: %+v", m)
	}
	if _, ok := ve.Formats["name"]; ok {
		t.Errorf("a fixed sentence has a format: %+v", ve.Formats["name"])
	}

	err := models.Invalidf("flavor", "no flavor %s you may use", "m9.nope")
	if !errors.As(err, &ve) || !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("Invalidf: %v", err)
	}
	if pr := ve.Problem("flavor"); pr.Text != "no flavor m9.nope you may use" || pr.Msg.Format != "no flavor %s you may use" {
		t.Errorf("Invalidf's problem: %+v", pr)
	}
	if err.Error() != "invalid input: flavor: no flavor m9.nope you may use" {
		t.Errorf("Error(): %q", err.Error())
	}
}
