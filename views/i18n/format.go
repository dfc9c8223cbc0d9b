package i18n

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/number"
)

// Number writes an integer the locale's way ("12,345").
func Number(ctx context.Context, n int64) string {
	return From(ctx).printer.Sprint(number.Decimal(n))
}

// Bytes writes a size in binary units with one decimal where it matters
// ("512 B", "1.5 GiB", "100 GiB"); units are the same in Korean consoles.
func Bytes(ctx context.Context, n int64) string {
	return bytesIn(ctx, n, number.MaxFractionDigits(1))
}

// BytesFixed is Bytes with the decimal always written ("1.0 MiB",
// "1.5 GiB"; bytes stay whole: "512 B"), for a size read as a measurement
// (an image's, an object's).
func BytesFixed(ctx context.Context, n int64) string {
	return bytesIn(ctx, n, number.MinFractionDigits(1), number.MaxFractionDigits(1))
}

func bytesIn(ctx context.Context, n int64, digits ...number.Option) string {
	const unit = 1024
	if n < unit {
		return Number(ctx, n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := From(ctx).printer.Sprint(number.Decimal(v, digits...))
	return s + " " + string("KMGTPE"[exp]) + "iB"
}

// When writes a time in UTC to the minute: "2026-12-04 13:51 UTC" in
// English, "2026. 12. 4. 13:51 UTC" in Korean.
func When(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	if From(ctx).Korean() {
		return fmt.Sprintf("%d. %d. %d. %s UTC", t.Year(), int(t.Month()), t.Day(), t.Format("15:04"))
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// Ago writes how long before now t was, in the largest unit that fits:
// "just now", "2 minutes ago", "3 hours ago", "5 days ago" ("방금", "2분 전",
// "3시간 전", "5일 전"); a time in the future (clocks apart) is "just now".
func Ago(ctx context.Context, now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return T(ctx, "just now")
	case d < time.Hour:
		return T(ctx, "%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return T(ctx, "%d hours ago", int(d.Hours()))
	}
	return T(ctx, "%d days ago", int(d.Hours()/24))
}

// List joins items the locale's way ("a, b and c" / "a, b, c").
func List(ctx context.Context, items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	if From(ctx).Korean() {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
