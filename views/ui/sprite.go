package ui

import "context"

type ctxKey int

const spriteKey ctxKey = iota

// WithSprite tells Icon where the icon sprite is served (its cache-busting
// URL, from static.Assets): the web handlers set it on the context they
// render with.
func WithSprite(ctx context.Context, url string) context.Context {
	return context.WithValue(ctx, spriteKey, url)
}

// spriteURL is the sprite's URL for this render; without WithSprite (a
// component rendered on its own) the unversioned one.
func spriteURL(ctx context.Context) string {
	if u, ok := ctx.Value(spriteKey).(string); ok {
		return u
	}
	return "/static/icons.svg"
}
