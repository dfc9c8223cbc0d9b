package models

import (
	"context"
	"fmt"
	"regexp"
)

// localeTag is the shape of a language tag a user may store: "en", "ko",
// "pt-BR", "zh-Hant". Which languages exist is the web console's business
// (its catalogues); the model keeps the column well-formed.
var localeTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// SetLocale records the caller's own choice of language for the web
// console; "" returns them to their browser's Accept-Language.
func (s *Store) SetLocale(ctx context.Context, c Caller, locale string) error {
	if c.UserID == "" {
		return ErrUnauthenticated
	}
	if locale != "" && !localeTag.MatchString(locale) {
		return Invalid("language", "not a language tag")
	}
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", c.UserID).Update("locale", locale)
	if res.Error != nil {
		return fmt.Errorf("set locale: %w", res.Error)
	}
	return nil
}
