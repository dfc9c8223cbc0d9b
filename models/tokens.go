package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Token kinds.
const (
	TokenLogin = "login" // from POST /auth/tokens, short-lived
	TokenAPI   = "api"   // named, created by the user for scripts
)

// tokenPrefix starts every secret so that a leaked one is easy to recognise
// (and to grep for in a repository).
const tokenPrefix = "stk_"

// Token is a bearer credential scoped to one project. The secret itself is
// never stored: only its SHA-256 (a 256-bit random secret needs no slow hash).
type Token struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	UserID     string     `json:"user_id"`
	ProjectID  string     `json:"project_id"`
	SecretHash string     `json:"-"`
	Prefix     string     `json:"prefix"` // first characters, to tell tokens apart
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newToken writes a token and returns it with its secret (shown once).
func (s *Store) newToken(tx *gorm.DB, kind, name, userID, projectID string, expires time.Time) (Token, string, error) {
	secret := tokenPrefix + randomSecret(32)
	t := Token{ID: newID(), Kind: kind, Name: name, UserID: userID, ProjectID: projectID,
		SecretHash: hashSecret(secret), Prefix: secret[:len(tokenPrefix)+6], ExpiresAt: expires, CreatedAt: s.now()}
	if err := tx.Create(&t).Error; err != nil {
		return Token{}, "", fmt.Errorf("insert token: %w", err)
	}
	return t, secret, nil
}

// IssuedToken is a new token with its secret, and the caller it stands for.
type IssuedToken struct {
	Token  Token
	Secret string
	Caller Caller
}

// IssueLoginToken logs a user in for the API: it checks the password (with
// lockout, like the web login) and returns a token scoped to project (ID or
// name; "" for an unscoped token that can only read /me).
func (s *Store) IssueLoginToken(ctx context.Context, in LoginInput, project string) (IssuedToken, error) {
	var c Caller
	// Same answer whether the project does not exist or the user has no
	// role on it: never reveal other tenants' project names.
	noRole := forbidden("you have no role on project %q", project)
	u, err := s.login(ctx, in, func(u User) error {
		var projectID string
		if project != "" {
			pr, err := s.GetProject(ctx, project)
			if errors.Is(err, ErrNotFound) {
				return noRole
			} else if err != nil {
				return err
			}
			projectID = pr.ID
		}
		var err error
		if c, err = s.ResolveCaller(ctx, u.ID, projectID); err != nil {
			return err
		}
		if project != "" && c.ProjectID == "" {
			return noRole
		}
		return nil
	})
	if err != nil {
		return IssuedToken{}, err
	}
	var out IssuedToken
	err = s.tx(ctx, func(tx *gorm.DB) error {
		t, secret, err := s.newToken(tx, TokenLogin, "login", u.ID, c.ProjectID, s.now().Add(s.opts.TokenTTL))
		out = IssuedToken{Token: t, Secret: secret, Caller: c}
		return err
	})
	out.Caller.TokenID = out.Token.ID
	return out, err
}

// APITokenInput names a token and when it expires.
type APITokenInput struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
	// ExpiresInDays is the form's way to say ExpiresAt.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// CreateAPIToken makes a named token for the caller, scoped to the caller's
// current project. The secret is returned once.
func (s *Store) CreateAPIToken(ctx context.Context, c Caller, in APITokenInput) (IssuedToken, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	p.Name("name", in.Name, 64)
	if c.ProjectID == "" && c.SystemRole == "" {
		// Only operators and service accounts (system roles) hold tokens
		// without a project; everyone else's token works in one project.
		p.Add("project", "choose a project first: a token is scoped to one project")
	}
	now := s.now()
	expires := now.Add(90 * 24 * time.Hour)
	switch {
	case in.ExpiresAt != nil:
		expires = in.ExpiresAt.UTC().Truncate(time.Microsecond)
	case in.ExpiresInDays != 0:
		expires = now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)
	}
	if !expires.After(now) {
		p.Add("expires_at", "must be in the future")
	} else if expires.Sub(now) > s.opts.MaxTokenTTL {
		p.Addf("expires_at", "must be within %d days", int(s.opts.MaxTokenTTL.Hours()/24))
	}
	if err := p.Err(); err != nil {
		return IssuedToken{}, err
	}
	var out IssuedToken
	err := s.tx(ctx, func(tx *gorm.DB) error {
		t, secret, err := s.newToken(tx, TokenAPI, in.Name, c.UserID, c.ProjectID, expires)
		if err != nil {
			return err
		}
		out = IssuedToken{Token: t, Secret: secret, Caller: c}
		return s.audit(tx, c, AuditTokenCreate, OutcomeSuccess, "token", t.ID, t.Name, "expires "+expires.Format(time.RFC3339))
	})
	return out, err
}

// ListAPITokens lists the caller's own named tokens (all projects), newest
// first, revoked ones included so the user can see what was revoked.
func (s *Store) ListAPITokens(ctx context.Context, c Caller) ([]Token, error) {
	var out []Token
	err := s.db.WithContext(ctx).Where("user_id = ? AND kind = ?", c.UserID, TokenAPI).
		Order("created_at DESC").Limit(MaxPageSize).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes one of the caller's own tokens. Another user's token
// is "not found", never "forbidden".
func (s *Store) RevokeToken(ctx context.Context, c Caller, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var t Token
		err := tx.Where("id = ? AND user_id = ?", id, c.UserID).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("token %q not found", id)
		} else if err != nil {
			return fmt.Errorf("get token: %w", err)
		}
		if t.RevokedAt != nil {
			return nil // revoking twice is not an error
		}
		if err := tx.Model(&t).Update("revoked_at", s.now()).Error; err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if t.Kind == TokenLogin {
			return nil // logging out of the API is not an identity change worth auditing
		}
		return s.audit(tx, c, AuditTokenRevoke, OutcomeSuccess, "token", t.ID, t.Name, "")
	})
}

// AuthenticateToken resolves a bearer secret to its Caller. Expired,
// revoked, malformed and unknown tokens all fail the same way.
func (s *Store) AuthenticateToken(ctx context.Context, secret string) (Caller, error) {
	_, c, err := s.InspectToken(ctx, secret)
	return c, err
}

// InspectToken is AuthenticateToken that also returns the token itself
// (its expiry and creation time: Keystone's token validation shows them).
func (s *Store) InspectToken(ctx context.Context, secret string) (Token, Caller, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return Token{}, Caller{}, ErrUnauthenticated
	}
	var t Token
	err := s.db.WithContext(ctx).Where("secret_hash = ?", hashSecret(secret)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Token{}, Caller{}, ErrUnauthenticated
	} else if err != nil {
		return Token{}, Caller{}, fmt.Errorf("look up token: %w", err)
	}
	now := s.now()
	if t.RevokedAt != nil || !t.ExpiresAt.After(now) {
		return Token{}, Caller{}, ErrUnauthenticated
	}
	c, err := s.ResolveCaller(ctx, t.UserID, t.ProjectID)
	if err != nil {
		return Token{}, Caller{}, err
	}
	if t.ProjectID != "" && c.ProjectID == "" {
		return Token{}, Caller{}, ErrUnauthenticated // project disabled or role removed
	}
	c.TokenID = t.ID
	// Recording every use would turn each API read into a write; a minute's
	// precision is enough to tell a live token from a forgotten one.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.db.WithContext(ctx).Model(&Token{}).Where("id = ?", t.ID).Update("last_used_at", now).Error; err != nil {
			s.log.Warn("record token use", "token", t.ID, "err", err) // the request itself may go on
		}
	}
	return t, c, nil
}

// PruneTokens deletes tokens that expired or were revoked more than a week
// ago.
func (s *Store) PruneTokens(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-7 * 24 * time.Hour)
	res := s.db.WithContext(ctx).Where("expires_at < ? OR revoked_at < ?", cutoff, cutoff).Delete(&Token{})
	return res.RowsAffected, res.Error
}

// RevokeTokenSecret revokes the token whose secret is given (Keystone's
// DELETE /v3/auth/tokens): its own user or an operator may. Any other
// caller, like an unknown or dead token, gets not found.
func (s *Store) RevokeTokenSecret(ctx context.Context, c Caller, secret string) error {
	t, _, err := s.InspectToken(ctx, secret)
	if errors.Is(err, ErrUnauthenticated) || (err == nil && t.UserID != c.UserID && !c.IsSystemAdmin()) {
		return notFound("the token is not valid")
	} else if err != nil {
		return err
	}
	if t.UserID == c.UserID {
		return s.RevokeToken(ctx, c, t.ID)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", t.ID).Update("revoked_at", s.now()).Error; err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return s.audit(tx, c, AuditTokenRevoke, OutcomeSuccess, "token", t.ID, t.Name, "revoked by an operator")
	})
}
